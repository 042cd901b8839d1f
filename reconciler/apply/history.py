"""Runs and per-client before/after snapshots, stored in the database (SPEC §5).

A run row is written first (status running); each client's snapshot row is written inside that
client's own transaction, so history never claims a client whose write did not commit.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from reconciler.apply.process import is_gone, this_process
from reconciler.apply.sealing import (
    Sealer,
    Sensitive,
    Undecryptable,
    history_key,
    recorded,
    reveal,
    unseal,
)
from reconciler.errors import BadInput, RunNotFound
from reconciler.live.bulk import insert_rows
from reconciler.live.ids import batches, db_client_id, keyed
from reconciler.live.stats import keyed_reads
from reconciler.live.tables import reconciler_run_clients, reconciler_runs
from reconciler.model import JSON, ClientLive
from reconciler.plan.mask import with_recorded
from reconciler.redact import redact_urls
from reconciler.results import ClientSnapshot, RunDetail, RunInfo

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

MAX_RUN_ID = 2**31 - 1  # reconciler_runs.id is an INTEGER
PLAIN = Sealer()  # no catalog, no key: what a caller that knows nothing about sensitivity gets


def start_run(
    engine: Engine,
    *,
    now: datetime,
    on_start: Callable[[Connection, int], None] | None = None,
    **fields: Any,
) -> int:
    """Insert a run in status `running`, with this process's host and pid, and return its id;
    `on_start(conn, run_id)` runs in the same transaction (a rollout links its run there, so
    no run is ever left unlinked)."""
    # The command line may hold a store URL with its password (SPEC §4: never shown).
    for name in ("command", "reason"):
        if isinstance(fields.get(name), str):
            fields[name] = redact_urls(fields[name])
    host, pid = this_process()
    with engine.begin() as conn:
        result = conn.execute(
            insert(reconciler_runs).values(
                started_at=now, status="running", host=host, pid=pid, **fields
            )
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


# jsonb_to_recordset's record of snapshot rows (live/bulk.py); run and time are constants.
_SNAPSHOT_TYPES = {"client_id": "uuid", "before": "jsonb", "after": "jsonb"}


def record_client(
    conn: Connection,
    run_id: int,
    before: ClientLive,
    after: ClientLive,
    now: datetime,
    *,
    sealer: Sealer = PLAIN,
    extra: Sensitive = {},  # noqa: B006 - never mutated
) -> None:
    """Snapshot one client inside its apply transaction (sensitive paths recorded, values
    encrypted when the run has a history key)."""
    record_clients(conn, run_id, [(before, after, extra)], now, sealer=sealer)


def record_clients(
    conn: Connection,
    run_id: int,
    changes: Sequence[tuple[ClientLive, ClientLive, Sensitive]],
    now: datetime,
    *,
    sealer: Sealer = PLAIN,
) -> None:
    """Snapshot many clients inside their (shared) apply transaction: (before, after, extra
    sensitive paths) each. What the client's previous snapshot recorded as sensitive stays
    sensitive (its before-state is usually that snapshot's after-state)."""
    previous = _last_recorded(conn, [before.client_id for before, _, _ in changes])
    rows = []
    for before, after, extra in changes:
        known = with_recorded(extra, previous.get(before.client_id, {}))
        rows.append(
            {
                "client_id": db_client_id(conn.dialect.name, before.client_id),
                "before": sealer.seal(before, known),
                "after": sealer.seal(after, known),
            }
        )
    constants = {"run_id": run_id, "committed_at": now}
    insert_rows(conn, reconciler_run_clients, rows, _SNAPSHOT_TYPES, constants)


def _last_recorded(
    conn: Connection, client_ids: Collection[str]
) -> dict[str, dict[str, frozenset[tuple[str, ...]]]]:
    """The sensitive paths recorded by each client's most recent snapshot."""
    rc = reconciler_run_clients
    wanted = [db_client_id(conn.dialect.name, c) for c in client_ids]
    latest = (
        select(rc.c.client_id, func.max(rc.c.run_id).label("run_id"))
        .where(keyed(rc.c.client_id, wanted, conn))
        .group_by(rc.c.client_id)
        .subquery()
    )
    # The snapshot as a correlated subquery: one primary-key lookup per client, whatever the
    # statistics say (a join may merge against the whole growing table, issue 15).
    snapshot = rc.alias("snapshot")
    after = (
        select(snapshot.c.after)
        .where(
            (snapshot.c.run_id == latest.c.run_id) & (snapshot.c.client_id == latest.c.client_id)
        )
        .scalar_subquery()
    )
    query = select(latest.c.client_id, after.label("after"))
    with keyed_reads(conn):
        return {str(row.client_id): recorded(row.after) for row in conn.execute(query)}


def _run_info(row: Any, clients: int) -> RunInfo:
    status = row.status
    if status == "running" and is_gone(row.host, row.pid, row.started_at):
        status = "abandoned"  # shown so; the row is left as recorded
    return RunInfo(
        id=row.id,
        kind=row.kind,
        started_at=row.started_at,
        finished_at=row.finished_at,
        actor=row.actor,
        command=redact_urls(row.command),
        reason=None if row.reason is None else redact_urls(row.reason),
        desired_commit=row.desired_commit,
        store=redact_urls(row.store),  # rows of older versions may hold it in clear
        status=status,
        reverts_run=row.reverts_run,
        summary=row.summary,
        clients=clients,
        host=row.host,
        pid=row.pid,
    )


def list_runs(engine: Engine, *, client_id: str | None = None, limit: int = 20) -> list[RunInfo]:
    """Newest runs first; with `client_id`, only runs that changed that client.

    Raises:
        BadInput: a limit outside 1..MAX_RUN_ID, a client id the store cannot hold.
    """
    if not 1 <= limit <= MAX_RUN_ID:
        raise BadInput(
            f"limit {limit} is out of range: give 1 to {MAX_RUN_ID}",
            hint="history --limit N lists the N newest runs",
        )
    if client_id is not None:
        client_id = db_client_id(engine.dialect.name, client_id)
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


def _snapshot(run_id: int, row: Any, key: Fernet | None) -> ClientSnapshot:
    """A stored snapshot; with `key`, decrypted (or saying why it cannot be)."""
    sensitive = {
        m: recorded(row.before).get(m, frozenset()) | recorded(row.after).get(m, frozenset())
        for m in {*recorded(row.before), *recorded(row.after)}
    }
    before, after, undecryptable = ClientLive.from_json(row.before), None, ""
    try:
        before, _ = unseal(row.before, key)
        after, _ = unseal(row.after, key)
    except Undecryptable as exc:
        undecryptable = exc.reason
    return ClientSnapshot(
        run_id=run_id,
        client_id=str(row.client_id),
        before=before,
        after=after or ClientLive.from_json(row.after),
        committed_at=row.committed_at,
        sensitive=sensitive,
        undecryptable=undecryptable,
    )


def get_run(
    engine: Engine, run_id: int, *, client_ids: Collection[str] = (), key: Fernet | None = None
) -> RunDetail | None:
    """A run with its client snapshots (all, or only `client_ids`); None when unknown. With
    `key`, encrypted sensitive values are decrypted (revert); without, they stay encrypted and
    `undecryptable` says so (display masks them anyway)."""
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
        snapshots = tuple(_snapshot(run_id, s, key) for s in conn.execute(query))
        count = len(snapshots)
        if client_ids:
            count = conn.execute(
                select(func.count()).where(reconciler_run_clients.c.run_id == run_id)
            ).scalar_one()
    return RunDetail(run=_run_info(row, count), snapshots=snapshots)


def require_run(
    engine: Engine, run_id: int, client_ids: Collection[str] = (), *, key: Fernet | None = None
) -> RunDetail:
    """`get_run`, refusing an unknown run or clients the run did not change (RunNotFound)."""
    detail = get_run(engine, run_id, client_ids=client_ids, key=key)
    if detail is None:
        raise RunNotFound(f"run {run_id} not found", hint="list runs with `reconciler history`")
    missing = sorted(set(client_ids) - {s.client_id for s in detail.snapshots})
    if missing:
        raise RunNotFound(
            f"run {run_id} did not change client(s) {', '.join(missing)}",
            hint=f"see `reconciler history show {run_id}`",
        )
    return detail


def last_runs(conn: Connection, client_ids: Collection[str]) -> dict[str, int]:
    """Each client's most recent run that recorded a write for it (drift's memo key: a run's
    after-state never changes once recorded)."""
    rc = reconciler_run_clients
    wanted = [db_client_id(conn.dialect.name, c) for c in client_ids]
    found: dict[str, int] = {}
    with keyed_reads(conn):
        for batch in batches(wanted):  # one array parameter per statement (ids.keyed)
            query = (
                select(rc.c.client_id, func.max(rc.c.run_id))
                .where(keyed(rc.c.client_id, batch, conn))
                .group_by(rc.c.client_id)
            )
            found.update((str(cid), int(run)) for cid, run in conn.execute(query))
    return found


def last_applied(
    conn: Connection,
    client_ids: Collection[str] | None = None,
    *,
    lives: Mapping[str, ClientLive] | None = None,
) -> dict[str, tuple[int, ClientLive]]:
    """Each client's most recent recorded write: (run id, after-state), drift's reference.
    Encrypted sensitive values are decrypted with the history key; without it (or with
    another key) they stand for what `lives` holds there (see sealing.reveal)."""
    key = history_key()
    lives = lives or {}
    rc = reconciler_run_clients
    newest = select(rc.c.client_id, func.max(rc.c.run_id).label("run_id")).group_by(rc.c.client_id)
    if client_ids is not None:
        newest = newest.where(rc.c.client_id.in_(list(client_ids)))
    latest = newest.subquery()
    query = select(rc.c.client_id, rc.c.run_id, rc.c.after).join(
        latest, (rc.c.client_id == latest.c.client_id) & (rc.c.run_id == latest.c.run_id)
    )
    found: dict[str, tuple[int, ClientLive]] = {}
    for row in conn.execute(query):
        cid = str(row.client_id)
        live = lives.get(cid) or ClientLive(client_id=cid)
        found[cid] = (int(row.run_id), reveal(row.after, key, live))
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class KindTotals:
    """Every recorded run of one kind (apply, heal, revert ...): how many ended in each
    status, how many client writes they recorded, and the newest run (for `/metrics`)."""

    kind: str
    runs: Mapping[str, int]  # status -> runs
    clients: int  # client snapshots recorded by runs of this kind
    last: RunInfo

    def to_json(self) -> dict[str, JSON]:
        return {
            "kind": self.kind,
            "runs": dict(self.runs),
            "clients": self.clients,
            "last": self.last.to_json(),
        }


def run_totals(engine: Engine) -> list[KindTotals]:
    """Per kind, by kind name: runs per status, client writes, and the newest run."""
    runs, rc = reconciler_runs, reconciler_run_clients
    by_status = select(runs.c.kind, runs.c.status, func.count()).group_by(
        runs.c.kind, runs.c.status
    )
    writes = (
        select(runs.c.kind, func.count())
        .select_from(rc.join(runs, rc.c.run_id == runs.c.id))
        .group_by(runs.c.kind)
    )
    newest = select(func.max(runs.c.id)).group_by(runs.c.kind)
    counts = select(rc.c.run_id, func.count().label("n")).group_by(rc.c.run_id).subquery()
    last = (
        select(runs, func.coalesce(counts.c.n, 0).label("n"))
        .outerjoin(counts, counts.c.run_id == runs.c.id)
        .where(runs.c.id.in_(newest))
    )
    with engine.connect() as conn:
        statuses: dict[str, dict[str, int]] = {}
        for kind, status, n in conn.execute(by_status):
            statuses.setdefault(kind, {})[status] = int(n)
        clients = {kind: int(n) for kind, n in conn.execute(writes)}
        newest_runs = {row.kind: _run_info(row, int(row.n)) for row in conn.execute(last)}
    return [
        KindTotals(
            kind=kind,
            runs=dict(sorted(statuses[kind].items())),
            clients=clients.get(kind, 0),
            last=newest_runs[kind],
        )
        for kind in sorted(newest_runs)
    ]
