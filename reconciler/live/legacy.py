"""The legacy store: rows of client_app_overrides. No row means legacy defaults; `[]` means none.

Reads are set-based (one query, or one per batch of ids); writes keep id and created_at of an
existing row so the original application's view of it is undisturbed (SPEC §4).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection

from reconciler.errors import ReconcilerError
from reconciler.live.ids import batches, db_client_id, id_map, keyed
from reconciler.live.stats import keyed_reads
from reconciler.live.tables import LEGACY_DATA_COLUMNS
from reconciler.live.tables import client_app_overrides as legacy_table
from reconciler.model import JSON, LegacyRow

_COLUMNS = (legacy_table.c.client_id, *(legacy_table.c[name] for name in LEGACY_DATA_COLUMNS))


def read_legacy(
    conn: Connection, client_ids: Collection[str] | None = None, *, lock: bool = False
) -> dict[str, LegacyRow]:
    """Legacy rows by client id (None: all rows); clients without a row are absent.

    `lock` (apply): SELECT ... FOR UPDATE, so a row old code is writing is read only once that
    write commits; a plain UPDATE under READ COMMITTED would otherwise overwrite it (SPEC §5).
    """
    result: dict[str, LegacyRow] = {}
    if client_ids is None:
        for row in conn.execute(select(*_COLUMNS)):
            result[str(row[0])] = _to_legacy(str(row[0]), row)
        return result
    wanted = id_map(conn, client_ids)
    with keyed_reads(conn):
        for batch in batches(sorted(wanted)):
            query = select(*_COLUMNS).where(keyed(legacy_table.c.client_id, batch, conn))
            if lock:
                query = query.with_for_update()
            for row in conn.execute(query):
                requested = wanted[str(row[0])]
                result[requested] = _to_legacy(requested, row)
    return result


def _to_legacy(client_id: str, row: Any) -> LegacyRow:
    modules = row[1]
    if not isinstance(modules, list) or not all(isinstance(m, str) for m in modules):
        raise ReconcilerError(
            f"client {client_id}: client_app_overrides.modules_enabled is not a JSON array "
            f"of module ids: {modules!r}",
            hint="fix the row (the original application expects an array of strings)",
        )
    return LegacyRow(
        modules_enabled=tuple(modules),
        theme_overrides=row[2],
        consultation_config=row[3],
        plan_catalog_overrides=row[4],
        catalog_overrides=row[5],
    )


def write_legacy(conn: Connection, client_id: str, row: LegacyRow | None) -> None:
    """Make the client's legacy row exactly `row`; None deletes it (back to legacy defaults)."""
    if row is None:
        stored = db_client_id(conn.dialect.name, client_id)
        conn.execute(delete(legacy_table).where(legacy_table.c.client_id == stored))
        return
    upsert_legacy(conn, client_id, row.to_json())


def upsert_legacy(conn: Connection, client_id: str, values: Mapping[str, JSON]) -> None:
    """Set the given data columns, updating the existing row or inserting one (others: defaults)."""
    unknown = set(values) - set(LEGACY_DATA_COLUMNS)
    if unknown:
        raise ValueError(f"not data columns of client_app_overrides: {sorted(unknown)}")
    stored = db_client_id(conn.dialect.name, client_id)
    changed = conn.execute(
        update(legacy_table)
        .where(legacy_table.c.client_id == stored)
        .values(**values)  # updated_at: the table's BEFORE UPDATE trigger (original schema)
    )
    if changed.rowcount:
        return
    try:
        # A savepoint: on PostgreSQL a failed INSERT would otherwise abort the whole transaction.
        with conn.begin_nested():
            conn.execute(insert(legacy_table).values(client_id=stored, **values))
    except sa_exc.IntegrityError as exc:
        if _is_foreign_key_violation(exc):
            raise ReconcilerError(
                f"client {client_id} is not in the clients table",
                hint="client_app_overrides.client_id references clients(id); create the client "
                "in the application first, or correct client_id",
            ) from None
        raise


def _is_foreign_key_violation(exc: sa_exc.IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    return sqlstate == "23503" or "FOREIGN KEY constraint failed" in str(exc.orig)
