"""Rollouts in the store: the rollout row (wave states), its runs and its gate results (issue 14).

Created by migration step 5. The rollout row is only written by the process driving it, which
holds `drive_lock` (a session advisory lock on PostgreSQL, a file lock next to a SQLite file),
so a resumed rollout never races the process it took over from.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)
from sqlalchemy import exc as sa_exc

from reconciler.errors import ReconcilerError
from reconciler.live.locks import _named_key, rollouts_transaction
from reconciler.live.tables import JsonType, metadata, reconciler_runs
from reconciler.model import JSON
from reconciler.redact import redact_urls

ACTIVE_STATES = ("running", "paused", "failed")  # a rollout that may still be resumed

reconciler_rollouts = Table(
    "reconciler_rollouts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(20), nullable=False),  # running | paused | failed | done | aborted
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("actor", String(200), nullable=False),
    Column("command", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("force", Boolean, nullable=False),
    Column("desired_commit", String(64), nullable=True),
    Column("store", Text, nullable=False),  # display URL, never a password
    # [{name, select, bake_seconds, gate, on_failure, clients, state, attempt, since, note}]
    Column("waves", JsonType, nullable=False),
    Column("unselected", JsonType, nullable=False),
    Column("message", Text, nullable=True),
)

# A run of a rollout: the wave's apply (per attempt) or a revert of one; linked in the same
# transaction that creates the run row, so a killed process leaves no unlinked run.
reconciler_rollout_runs = Table(
    "reconciler_rollout_runs",
    metadata,
    Column("run_id", Integer, ForeignKey(reconciler_runs.c.id), primary_key=True),
    Column("rollout_id", Integer, ForeignKey("reconciler_rollouts.id"), nullable=False),
    Column("wave", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("purpose", String(10), nullable=False),  # apply | revert
)

reconciler_rollout_gates = Table(
    "reconciler_rollout_gates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rollout_id", Integer, ForeignKey("reconciler_rollouts.id"), nullable=False),
    Column("wave", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("round", Integer, nullable=False),
    Column("client_id", String(200), nullable=False),
    Column("check_name", Text, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("checked_at", DateTime(timezone=True), nullable=False),
)
Index("ix_reconciler_rollout_runs_rollout", reconciler_rollout_runs.c.rollout_id)
Index("ix_reconciler_rollout_gates_rollout", reconciler_rollout_gates.c.rollout_id)

ROLLOUT_TABLES: tuple[Table, ...] = (
    reconciler_rollouts,
    reconciler_rollout_runs,
    reconciler_rollout_gates,
)


def create_rollout(
    engine: Engine,
    *,
    now: datetime,
    waves: Sequence[JSON],
    unselected: Sequence[str],
    **fields: Any,
) -> int:
    """Insert a rollout in state `running`; its id. Refused while another is unfinished (the
    check and the insert hold one lock, so two starting at once cannot both pass)."""
    for name in ("command", "reason"):  # a command line may hold a store URL's password
        if isinstance(fields.get(name), str):
            fields[name] = redact_urls(fields[name])
    with rollouts_transaction(engine) as conn:
        active = active_rollouts(conn)
        if active:
            raise ReconcilerError(
                f"rollout {active[0]} is not finished",
                hint=f"resume it (`reconciler rollout resume {active[0]}`) or abort it "
                f"(`reconciler rollout abort {active[0]}`)",
            )
        result = conn.execute(
            insert(reconciler_rollouts).values(
                state="running",
                created_at=now,
                updated_at=now,
                waves=list(waves),
                unselected=list(unselected),
                **fields,
            )
        )
        key = result.inserted_primary_key
        assert key is not None
        return int(key[0])


def save_rollout(
    engine: Engine,
    rollout_id: int,
    *,
    now: datetime,
    waves: Sequence[JSON],
    state: str,
    message: str | None = None,
    finished: bool = False,
) -> None:
    """Write the wave states (all of them, the driver holds the lock) and the rollout state."""
    values: dict[str, Any] = {"waves": list(waves), "state": state, "updated_at": now}
    values["message"] = message
    if finished:
        values["finished_at"] = now
    with engine.begin() as conn:
        conn.execute(
            update(reconciler_rollouts).where(reconciler_rollouts.c.id == rollout_id).values(values)
        )


def get_rollout(conn: Connection, rollout_id: int) -> Any | None:
    """The rollout row, or None."""
    if not 1 <= rollout_id <= 2**31 - 1:
        return None
    query = select(reconciler_rollouts).where(reconciler_rollouts.c.id == rollout_id)
    return conn.execute(query).first()


def list_rollouts(conn: Connection, *, limit: int = 20) -> list[Any]:
    """Newest rollouts first."""
    query = select(reconciler_rollouts).order_by(reconciler_rollouts.c.id.desc()).limit(limit)
    return list(conn.execute(query))


def active_rollouts(conn: Connection) -> list[int]:
    """Ids of rollouts that are not done or aborted."""
    query = select(reconciler_rollouts.c.id).where(reconciler_rollouts.c.state.in_(ACTIVE_STATES))
    return [int(i) for i in conn.execute(query).scalars()]


def linker(rollout_id: int, wave: int, attempt: int, purpose: str) -> Any:
    """A `start_run` hook that links the new run to this rollout wave in the same transaction."""

    def link(conn: Connection, run_id: int) -> None:
        conn.execute(
            insert(reconciler_rollout_runs).values(
                run_id=run_id, rollout_id=rollout_id, wave=wave, attempt=attempt, purpose=purpose
            )
        )

    return link


def rollout_runs(conn: Connection, rollout_id: int) -> list[Any]:
    """(run_id, wave, attempt, purpose, status, reverts_run, kind) of a rollout's runs, oldest
    first."""
    rr, runs = reconciler_rollout_runs, reconciler_runs
    query = (
        select(rr.c.run_id, rr.c.wave, rr.c.attempt, rr.c.purpose, runs.c.status,
               runs.c.reverts_run, runs.c.started_at)
        .join(runs, runs.c.id == rr.c.run_id)
        .where(rr.c.rollout_id == rollout_id)
        .order_by(rr.c.run_id)
    )  # fmt: skip
    return list(conn.execute(query))


def record_gate(
    engine: Engine,
    rollout_id: int,
    *,
    wave: int,
    attempt: int,
    round_: int,
    results: Sequence[Mapping[str, Any]],
    now: datetime,
) -> None:
    """Store one gate round's results (client, check, ok, error, attempts)."""
    if not results:
        return
    rows = [
        {
            "rollout_id": rollout_id,
            "wave": wave,
            "attempt": attempt,
            "round": round_,
            "checked_at": now,
            **r,
        }
        for r in results
    ]
    with engine.begin() as conn:
        conn.execute(insert(reconciler_rollout_gates), rows)


def gate_rows(conn: Connection, rollout_id: int) -> list[Any]:
    """Every stored gate result of a rollout, in order."""
    g = reconciler_rollout_gates
    query = select(g).where(g.c.rollout_id == rollout_id).order_by(g.c.id)
    return list(conn.execute(query))


@contextmanager
def drive_lock(engine: Engine, rollout_id: int) -> Iterator[None]:
    """Held while a process drives (or aborts) a rollout; refuses when another process does.

    PostgreSQL: a session advisory lock on a connection kept open (a killed process's lock
    goes with its connection). SQLite: an exclusive flock on `<db>.rollout-<id>.lock`.
    """
    busy = ReconcilerError(
        f"rollout {rollout_id} is being driven by another process",
        hint=f"wait for it, or see `reconciler rollout status {rollout_id}`",
    )
    if engine.dialect.name == "postgresql":
        key = _named_key(f"reconciler:rollout:{rollout_id}")
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if not got:
                raise busy
            try:
                yield
            finally:  # a dead connection has dropped the lock already: not another error
                with contextlib.suppress(sa_exc.SQLAlchemyError):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    fd = os.open(f"{database}.rollout-{rollout_id}.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy from None
        yield
    finally:
        os.close(fd)
