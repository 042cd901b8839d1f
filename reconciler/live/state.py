"""Live state of clients in both stores, read set-based and written as one unit (SPEC §4, §5)."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, union, update
from sqlalchemy.engine import Connection

from reconciler.live.bulk import insert_rows, update_rows
from reconciler.live.cache import invalidate
from reconciler.live.engine import store_key
from reconciler.live.ids import batches, db_client_id
from reconciler.live.legacy import read_legacy, write_legacy
from reconciler.live.registry import plain_json, read_registry, write_registry
from reconciler.live.tables import LEGACY_DATA_COLUMNS
from reconciler.live.tables import client_app_overrides as legacy_table
from reconciler.live.tables import reconciler_client_modules as rows_table
from reconciler.model import ClientLive, LegacyRow


def read_live(
    conn: Connection, client_ids: Collection[str] | None = None, *, lock: bool = False
) -> dict[str, ClientLive]:
    """Live state by client id, sorted; with `client_ids`, every requested id is present.

    `lock`: hold the legacy rows read until the transaction ends (apply's stale check).
    """
    legacy = read_legacy(conn, client_ids, lock=lock)
    registry = read_registry(conn, client_ids)
    ids = set(client_ids) if client_ids is not None else set(legacy) | set(registry)
    return {
        cid: ClientLive(client_id=cid, legacy=legacy.get(cid), registry=registry.get(cid, {}))
        for cid in sorted(ids)
    }


def write_live(conn: Connection, live: ClientLive) -> None:
    """Make both stores hold exactly `live` for its client, in the caller's transaction."""
    write_legacy(conn, live.client_id, live.legacy)
    write_registry(conn, live.client_id, live.registry)
    invalidate(store_key(conn.engine), live.client_id)


def write_live_many(conn: Connection, changes: Sequence[tuple[ClientLive, ClientLive]]) -> None:
    """Set-based `write_live` for many clients: each pair is (current, target) as read in this
    transaction. Equal rows are not touched; the caller verifies by reading back."""
    dialect = conn.dialect.name
    deletes: list[str] = []
    updates: list[dict[str, object]] = []
    inserts: list[dict[str, object]] = []
    gone_rows: list[tuple[str, str]] = []
    new_rows: list[dict[str, object]] = []
    now = datetime.now(UTC)
    for current, target in changes:
        stored = db_client_id(dialect, target.client_id)
        if current.legacy != target.legacy:
            if target.legacy is None:
                deletes.append(stored)
            elif current.legacy is None:
                inserts.append({"client_id": stored, **_legacy_values(target.legacy)})
            else:
                updates.append({"client_id": stored, **_legacy_values(target.legacy)})
        for module_id in sorted(set(current.registry) | set(target.registry)):
            old, new = current.registry.get(module_id), target.registry.get(module_id)
            if old == new:
                continue
            if old is not None:
                gone_rows.append((stored, module_id))
            if new is not None:
                new_rows.append(
                    {
                        "client_id": stored,
                        "module_id": module_id,
                        "enabled": new.enabled,
                        "version": new.version,
                        "settings": _json_ready(new.settings),
                    }
                )
    for batch in batches(deletes):
        conn.execute(delete(legacy_table).where(legacy_table.c.client_id.in_(batch)))
    if updates and dialect == "postgresql":
        update_rows(conn, legacy_table, "client_id", updates, LEGACY_TYPES)
    elif updates:
        values: dict[str, Any] = {n: bindparam(f"v_{n}") for n in LEGACY_DATA_COLUMNS}
        statement = (
            update(legacy_table)
            .where(legacy_table.c.client_id == bindparam("b_client_id"))
            .values(**values)  # updated_at: the original BEFORE UPDATE trigger
        )
        conn.execute(statement, [_bound(row) for row in updates])
    insert_rows(conn, legacy_table, inserts, LEGACY_TYPES)
    for pair_batch in batches(gone_rows):
        pairs = tuple_(rows_table.c.client_id, rows_table.c.module_id)
        conn.execute(delete(rows_table).where(pairs.in_(list(pair_batch))))
    insert_rows(conn, rows_table, new_rows, REGISTRY_TYPES, {"updated_at": now})
    key = store_key(conn.engine)
    for _, target in changes:
        invalidate(key, target.client_id)


# jsonb_to_recordset's record for bulk writes on PostgreSQL (live/bulk.py).
LEGACY_TYPES = {"client_id": "uuid", **dict.fromkeys(LEGACY_DATA_COLUMNS, "jsonb")}
REGISTRY_TYPES = {
    "client_id": "uuid",
    "module_id": "text",
    "enabled": "boolean",
    "version": "text",
    "settings": "jsonb",
}


def _bound(row: dict[str, object]) -> dict[str, object]:
    """An update's row as the executemany's bind names: b_client_id, v_<column>."""
    return {("b_" if k == "client_id" else "v_") + k: v for k, v in row.items()}


def _legacy_values(row: LegacyRow) -> dict[str, object]:
    return {name: _json_ready(value) for name, value in row.to_json().items()}


def _json_ready(value: object) -> object:
    """Plain dicts and lists go to the driver as they are; anything else is made plain."""
    return value if type(value) in (dict, list) or value is None else plain_json(value)


def iter_live_batches(conn: Connection, batch_size: int = 1000) -> Iterator[dict[str, ClientLive]]:
    """Every client with live state, in batches ordered by client_id (keyset pagination)."""
    last: str | None = None
    while True:
        legacy_ids = select(legacy_table.c.client_id.label("client_id"))
        registry_ids = select(rows_table.c.client_id.label("client_id"))
        if last is not None:
            legacy_ids = legacy_ids.where(legacy_table.c.client_id > last)
            registry_ids = registry_ids.where(rows_table.c.client_id > last)
        ids_query = union(legacy_ids, registry_ids).order_by("client_id").limit(batch_size)
        ids = [str(cid) for cid in conn.execute(ids_query).scalars()]
        if not ids:
            return
        yield read_live(conn, ids)
        last = ids[-1]
