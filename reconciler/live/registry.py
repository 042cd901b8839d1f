"""The registry store: the module catalog and each client's module rows (SPEC §4)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, insert, select, text, update
from sqlalchemy.engine import Connection

from reconciler.live.bulk import loads
from reconciler.live.ids import batches, db_client_id, id_map, keyed
from reconciler.live.stats import keyed_reads
from reconciler.live.tables import reconciler_client_modules as rows_table
from reconciler.live.tables import reconciler_modules as catalog_table
from reconciler.model import JSON, ModuleDef, RegistryModule, canonical_json
from reconciler.plan.mask import schema_sensitive_paths

_COLUMNS = (
    rows_table.c.client_id,
    rows_table.c.module_id,
    rows_table.c.enabled,
    rows_table.c.version,
    rows_table.c.settings,
)


def plain_json(value: JSON) -> JSON:
    """A copy made of dicts, lists and scalars only (Mappings and tuples become dict/list)."""
    if isinstance(value, Mapping):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_json(v) for v in value]
    return value


def read_registry(
    conn: Connection, client_ids: Collection[str] | None = None
) -> dict[str, dict[str, RegistryModule]]:
    """Registry rows by client id then module id (None: all clients); rowless clients absent."""
    result: dict[str, dict[str, RegistryModule]] = {}
    if client_ids is None:
        for every in conn.execute(select(*_COLUMNS)):
            result.setdefault(str(every[0]), {})[every[1]] = _to_module(every)
        return result
    wanted = id_map(conn, client_ids)
    with keyed_reads(conn):
        for batch in batches(sorted(wanted)):
            if conn.dialect.name == "postgresql":
                rows: Iterable[Sequence[Any]] = rows_as_json(conn, batch)
            else:
                query = select(*_COLUMNS).where(keyed(rows_table.c.client_id, batch, conn))
                rows = conn.execute(query)
            for row in rows:
                result.setdefault(wanted[str(row[0])], {})[row[1]] = _to_module(row)
    return result


def rows_as_json(conn: Connection, ids: Sequence[str]) -> list[list[Any]]:
    """The rows of these clients as one JSON document (PostgreSQL, issue 15): one decode per
    batch instead of a driver row and a JSON load per row; the same keyed index scan."""
    (document,) = conn.execute(_AS_JSON, {"ids": list(ids)}).one()
    return loads(document) if document else []


_AS_JSON = text(
    "SELECT CAST(json_agg(json_build_array(client_id, module_id, enabled, version, settings))"
    " AS text) FROM reconciler_client_modules WHERE client_id = ANY(CAST(:ids AS uuid[]))"
)


def _to_module(row: Sequence[Any]) -> RegistryModule:
    _, _, enabled, version, settings = row
    return RegistryModule(enabled=bool(enabled), version=version, settings=settings or {})


def write_registry(conn: Connection, client_id: str, modules: Mapping[str, RegistryModule]) -> None:
    """Make the client's registry rows exactly `modules`; rows already equal are not touched."""
    stored = db_client_id(conn.dialect.name, client_id)
    current = read_registry(conn, [client_id]).get(client_id, {})
    gone = sorted(set(current) - set(modules))
    if gone:
        conn.execute(
            delete(rows_table).where(
                and_(rows_table.c.client_id == stored, rows_table.c.module_id.in_(gone))
            )
        )
    now = datetime.now(UTC)
    new_rows = []
    for module_id in sorted(modules):
        module = modules[module_id]
        values = {
            "enabled": module.enabled,
            "version": module.version,
            "settings": plain_json(module.settings),
            "updated_at": now,
        }
        if module_id not in current:
            new_rows.append({"client_id": stored, "module_id": module_id, **values})
        elif _differs(current[module_id], module):
            conn.execute(
                update(rows_table)
                .where(and_(rows_table.c.client_id == stored, rows_table.c.module_id == module_id))
                .values(**values)
            )
    if new_rows:
        conn.execute(insert(rows_table), new_rows)


def _differs(a: RegistryModule, b: RegistryModule) -> bool:
    return canonical_json(plain_json(a.to_json())) != canonical_json(plain_json(b.to_json()))


def sync_catalog(conn: Connection, catalog: Mapping[str, ModuleDef]) -> int:
    """Upsert module definitions into reconciler_modules; returns how many rows changed."""
    existing = {
        row.id: canonical_json(row.definition)
        for row in conn.execute(select(catalog_table.c.id, catalog_table.c.definition))
    }
    now = datetime.now(UTC)
    changed = 0
    for module_id in sorted(catalog):
        module = catalog[module_id]
        definition = plain_json(module.to_json())
        values = {
            "name": module.name,
            "version": module.version,
            "definition": definition,
            "updated_at": now,
        }
        if module_id not in existing:
            conn.execute(insert(catalog_table).values(id=module_id, **values))
        elif existing[module_id] != canonical_json(definition):
            conn.execute(
                update(catalog_table).where(catalog_table.c.id == module_id).values(**values)
            )
        else:
            continue
        changed += 1
    return changed


def stored_sensitive_paths(conn: Connection) -> dict[str, frozenset[tuple[str, ...]]]:
    """Sensitive settings paths per module of the catalog as last synced to the store."""
    return {
        row.id: schema_sensitive_paths((row.definition or {}).get("settings_schema") or {})
        for row in conn.execute(select(catalog_table.c.id, catalog_table.c.definition))
    }


def stored_renames(conn: Connection) -> dict[str, str]:
    """Old module id -> new id from the `replaces` of the catalog as last synced (issue 13)."""
    return {
        str(old): row.id
        for row in conn.execute(select(catalog_table.c.id, catalog_table.c.definition))
        for old in (row.definition or {}).get("replaces") or ()
    }
