"""Runs and per-client before/after snapshots, stored in the database (SPEC §5).

A run row is written first (status running); each client's snapshot row is written inside that
client's own transaction, so history never claims a client whose write did not commit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from reconciler.errors import RunNotFound
from reconciler.live.ids import db_client_id
from reconciler.live.tables import reconciler_run_clients, reconciler_runs
from reconciler.model import JSON, ClientLive
from reconciler.redact import redact_urls
from reconciler.results import ClientSnapshot, RunDetail, RunInfo

MAX_RUN_ID = 2**31 - 1  # reconciler_runs.id is an INTEGER


def start_run(
    engine: Engine,
    *,
    now: datetime,
    on_start: Callable[[Connection, int], None] | None = None,
    **fields: Any,
) -> int:
    """Insert a run in status `running` and return its id; `on_start(conn, run_id)` runs in
    the same transaction (a rollout links its run there, so no run is ever left unlinked)."""
    # The command line may hold a store URL with its password (SPEC §4: never shown).
    for name in ("command", "reason"):
        if isinstance(fields.get(name), str):
            fields[name] = redact_urls(fields[name])
    with engine.begin() as conn:
        result = conn.execute(
            insert(reconciler_runs).values(started_at=now, status="running", **fields)
        )
        key = result.inserted_primary_key
        assert key is not None
        if on_start is not None:
            on_start(conn, int(key[0]))
        return int(key[0])


def finish_run(
    engine: Engine, run_id: int, *, now: datetime, status: str, summary: Mapping[str, JSON]
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(reconciler_runs)
            .where(reconciler_runs.c.id == run_id)
            .values(finished_at=now, status=status, summary=dict(summary))
        )


def record_client(
    conn: Connection, run_id: int, before: ClientLive, after: ClientLive, now: datetime
) -> None:
    """Snapshot one client inside its apply transaction."""
    conn.execute(
        insert(reconciler_run_clients).values(
            run_id=run_id,
            client_id=before.client_id,
            before=before.to_json(),
            after=after.to_json(),
            committed_at=now,
        )
    )


def record_clients(
    conn: Connection, run_id: int, changes: Sequence[tuple[ClientLive, ClientLive]], now: datetime
) -> None:
    """Snapshot many clients inside their (shared) apply transaction."""
    conn.execute(
        insert(reconciler_run_clients),
        [
            {
                "run_id": run_id,
                "client_id": before.client_id,
                "before": before.to_json(),
                "after": after.to_json(),
                "committed_at": now,
            }
            for before, after in changes
        ],
    )


def _run_info(row: Any, clients: int) -> RunInfo:
    return RunInfo(
        id=row.id,
        kind=row.kind,
        started_at=row.started_at,
        finished_at=row.finished_at,
        actor=row.actor,
        command=redact_urls(row.command),
        reason=None if row.reason is None else redact_urls(row.reason),
        desired_commit=row.desired_commit,
        store=row.store,
        status=row.status,
        reverts_run=row.reverts_run,
        summary=row.summary,
        clients=clients,
    )


def list_runs(engine: Engine, *, client_id: str | None = None, limit: int = 20) -> list[RunInfo]:
    """Newest runs first; with `client_id`, only runs that changed that client."""
    counts = (
        select(reconciler_run_clients.c.run_id, func.count().label("n"))
        .group_by(reconciler_run_clients.c.run_id)
        .subquery()
    )
    query = (
        select(reconciler_runs, func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.run_id == reconciler_runs.c.id)
        .order_by(reconciler_runs.c.id.desc())
        .limit(limit)
    )
    if client_id is not None:
        query = query.where(
            reconciler_runs.c.id.in_(
                select(reconciler_run_clients.c.run_id).where(
                    reconciler_run_clients.c.client_id == client_id
                )
            )
        )
    with engine.connect() as conn:
        return [_run_info(row, row.n) for row in conn.execute(query)]


def get_run(engine: Engine, run_id: int, *, client_ids: Collection[str] = ()) -> RunDetail | None:
    """A run with its client snapshots (all, or only `client_ids`); None when unknown."""
    if not 1 <= run_id <= MAX_RUN_ID:  # the column's range: bigger ids overflow the driver
        return None
    with engine.connect() as conn:
        row = conn.execute(select(reconciler_runs).where(reconciler_runs.c.id == run_id)).first()
        if row is None:
            return None
        query = (
            select(reconciler_run_clients)
            .where(reconciler_run_clients.c.run_id == run_id)
            .order_by(reconciler_run_clients.c.client_id)
        )
        if client_ids:  # stored form; a non-UUID on PostgreSQL is a clear error, not a crash
            wanted = [db_client_id(conn.dialect.name, c) for c in client_ids]
            query = query.where(reconciler_run_clients.c.client_id.in_(wanted))
        snapshots = tuple(
            ClientSnapshot(
                run_id=run_id,
                client_id=str(s.client_id),
                before=ClientLive.from_json(s.before),
                after=ClientLive.from_json(s.after),
                committed_at=s.committed_at,
            )
            for s in conn.execute(query)
        )
        count = len(snapshots)
        if client_ids:
            count = conn.execute(
                select(func.count()).where(reconciler_run_clients.c.run_id == run_id)
            ).scalar_one()
    return RunDetail(run=_run_info(row, count), snapshots=snapshots)


def require_run(engine: Engine, run_id: int, client_ids: Collection[str] = ()) -> RunDetail:
    """`get_run`, refusing an unknown run or clients the run did not change (RunNotFound)."""
    detail = get_run(engine, run_id, client_ids=client_ids)
    if detail is None:
        raise RunNotFound(f"run {run_id} not found", hint="list runs with `reconciler history`")
    missing = sorted(set(client_ids) - {s.client_id for s in detail.snapshots})
    if missing:
        raise RunNotFound(
            f"run {run_id} did not change client(s) {', '.join(missing)}",
            hint=f"see `reconciler history show {run_id}`",
        )
    return detail


def last_applied(
    conn: Connection, client_ids: Collection[str] | None = None
) -> dict[str, tuple[int, ClientLive]]:
    """Each client's most recent recorded write: (run id, after-state), drift's reference."""
    rc = reconciler_run_clients
    newest = select(rc.c.client_id, func.max(rc.c.run_id).label("run_id")).group_by(rc.c.client_id)
    if client_ids is not None:
        newest = newest.where(rc.c.client_id.in_(list(client_ids)))
    latest = newest.subquery()
    query = select(rc.c.client_id, rc.c.run_id, rc.c.after).join(
        latest, (rc.c.client_id == latest.c.client_id) & (rc.c.run_id == latest.c.run_id)
    )
    return {
        str(row.client_id): (int(row.run_id), ClientLive.from_json(row.after))
        for row in conn.execute(query)
    }
