"""The drift last notified per client (`drift --notify`, table reconciler_drift_state)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from reconciler.live.ids import batches, db_client_id, id_map
from reconciler.live.registry import plain_json
from reconciler.live.tables import reconciler_drift_state as table
from reconciler.plan.events import DriftSeen


def read_drift_state(conn: Connection, client_ids: Collection[str]) -> dict[str, DriftSeen]:
    """The notified drift of each of `client_ids` that has one, by client id."""
    wanted = id_map(conn, client_ids)
    found: dict[str, DriftSeen] = {}
    for batch in batches(sorted(wanted)):
        for row in conn.execute(select(table).where(table.c.client_id.in_(batch))):
            client_id = wanted[str(row.client_id)]
            found[client_id] = DriftSeen(
                client_id=client_id,
                fingerprint=row.fingerprint,
                first_seen=_aware(row.first_seen),
                last_seen=_aware(row.last_seen),
                items=tuple(row.items or ()),
            )
    return found


def save_drift_state(
    conn: Connection,
    rows: Sequence[DriftSeen],
    *,
    resolved: Collection[str] = (),
    still: Collection[str] = (),
    now: datetime,
) -> None:
    """Replace the rows of `rows`' clients, delete those of `resolved`, and move `still`'s
    last_seen to `now`; in the caller's transaction."""
    dialect = conn.dialect.name
    gone = sorted({db_client_id(dialect, c) for c in [*resolved, *(r.client_id for r in rows)]})
    for batch in batches(gone):
        conn.execute(delete(table).where(table.c.client_id.in_(batch)))
    if rows:
        conn.execute(
            insert(table),
            [
                {
                    "client_id": db_client_id(dialect, r.client_id),
                    "fingerprint": r.fingerprint,
                    "first_seen": r.first_seen,
                    "last_seen": r.last_seen,
                    "items": plain_json(list(r.items)),
                }
                for r in rows
            ],
        )
    touched = sorted(db_client_id(dialect, c) for c in still)
    for batch in batches(touched):
        conn.execute(update(table).where(table.c.client_id.in_(batch)).values(last_seen=now))


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
