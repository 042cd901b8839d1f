"""Apply targets client by client: locked, stale-checked, written, read back, recorded (SPEC §5).

Each client is one transaction over both stores and its history row. Any error or mismatch
rolls back that client only; the others go on. Nothing here decides *what* to write: a Job's
`target` function does (a plan's target, a saved plan re-checked, a revert's before-state).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from reconciler.apply.history import PLAIN, record_client, record_clients
from reconciler.apply.sealing import Sealer, Sensitive
from reconciler.errors import ConnectionLost, ReconcilerError, StalePlan
from reconciler.live.locks import client_transaction, clients_transaction
from reconciler.live.state import read_live, write_live, write_live_many
from reconciler.live.stats import keyed_transaction, refresh_statistics
from reconciler.live.verify import first_mismatch
from reconciler.model import ClientLive
from reconciler.redact import redact_urls
from reconciler.results import ClientResult, Clock, utc_now

log = logging.getLogger(__name__)


class _Lost(Exception):
    """Raised inside run_jobs when a transaction's connection was lost."""

    def __init__(self, client_ids: Sequence[str], detail: str, *, locked: bool = False) -> None:
        super().__init__(detail)
        self.client_ids = list(client_ids)
        self.detail = detail
        self.locked = locked


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, sa_exc.DBAPIError) and bool(exc.connection_invalidated)


def _is_locked(exc: BaseException) -> bool:
    """SQLite's write lock stayed taken for the whole busy timeout: every later client would
    wait that long too, so the run stops instead of failing client after client."""
    return isinstance(exc, sa_exc.OperationalError) and "database is locked" in str(exc.orig)


def _db_detail(exc: BaseException) -> str:
    cause: BaseException = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {redact_urls(lines[0] if lines else '')}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One client to write: what live must still be, and how to get the target from it."""

    client_id: str
    expected_fingerprint: str | None  # None: no stale check
    target: Callable[[ClientLive], ClientLive]  # may raise StalePlan
    stale_hint: str = "run `reconciler plan` again and apply the new plan"
    # Sensitive settings paths beyond the store's catalog (a revert: those recorded with the
    # state it restores), so history keeps masking and encrypting them (issue 18).
    sensitive: Sensitive = field(default_factory=dict)


class JobSource(Protocol):
    """Jobs that can be counted before they are run: a list, or a streamed run's spool."""

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Job]: ...


BATCH_SIZE = 200  # clients per transaction on the fast path
STATISTICS_CHECK = 1000  # clients written before the first statistics check of a run


def run_jobs(
    engine: Engine,
    jobs: Iterable[Job],
    *,
    run_id: int,
    clock: Clock = utc_now,
    on_done: Callable[[ClientResult], None] | None = None,
    batch_size: int | None = None,
    sealer: Sealer = PLAIN,
    total: int | None = None,
) -> list[ClientResult]:
    """Run every job; a failing client never stops the others.

    Jobs go in batches: one transaction locks, reads, writes, reads back and records a batch
    of clients set-based. Any error in a batch rolls all of it back and its clients are
    retried one transaction each, so one bad client is isolated and reported by name. Each
    time the clients written double (1k, 2k, 4k, ...) the reconciler's growing tables get
    fresh planner statistics if they changed enough since their last ANALYZE (live/stats.py),
    so a large first run never depends on autovacuum (issue 15).

    `jobs` is consumed a batch at a time (a streamed run loads each batch's targets only
    then); `total` is how many it yields, when it is not a list to count.
    """
    results: list[ClientResult] = []
    if total is None:
        jobs = list(jobs)
        total = len(jobs)
    pending = iter(jobs)
    written, next_check = 0, STATISTICS_CHECK
    batch_size = max(1, batch_size or BATCH_SIZE)
    number = 0
    while batch := list(islice(pending, batch_size)):
        number += 1
        done: list[ClientResult] = []
        fast: list[ClientResult] | None = None
        began = time.perf_counter()
        try:
            fast = _run_batch(engine, batch, run_id, clock, sealer) if len(batch) > 1 else None
            if fast is not None:
                done = fast
            else:
                for job in batch:
                    done.append(_run_one(engine, job, run_id, clock, sealer))
        except _Lost as lost:
            _report(results, done, on_done)
            raise _connection_lost(lost, results, total - len(results)) from None
        log.debug(
            "apply: batch %d: %d clients (%s) in %.3f s",
            number,
            len(batch),
            "one transaction" if fast is not None else "one transaction each",
            time.perf_counter() - began,
        )
        for result in done:
            log.debug("apply: client=%s outcome=%s", result.client_id, result.outcome)
            results.append(result)
            if on_done is not None:
                on_done(result)
        written += sum(r.outcome == "applied" for r in done)
        if written >= next_check:  # a log of the run's checks, not one per batch
            refresh_statistics(engine)
            next_check = 2 * written
    return results


def _report(
    results: list[ClientResult],
    done: Sequence[ClientResult],
    on_done: Callable[[ClientResult], None] | None,
) -> None:
    for result in done:
        results.append(result)
        if on_done is not None:
            on_done(result)


def _connection_lost(lost: _Lost, results: list[ClientResult], left: int) -> ConnectionLost:
    """The error naming the client(s) in flight when the connection died, and what is left."""
    what = (
        "store stayed locked by another writer" if lost.locked else "connection to the store lost"
    )
    for cid in lost.client_ids:
        message = (
            f"client {cid}: {what} while writing it ({lost.detail}); "
            "rolled back, nothing written for it"
        )
        results.append(ClientResult(client_id=cid, outcome="failed", message=message))
    others = len(lost.client_ids) - 1
    with_others = f" (and {others} more in the same transaction)" if others else ""
    applied = sum(1 for r in results if r.outcome == "applied")
    return ConnectionLost(
        f"{what} while writing client {lost.client_ids[0]}{with_others}: "
        f"{lost.detail}; rolled back, nothing written for {'them' if others else 'it'}; "
        f"{applied} client(s) applied before, {left - len(lost.client_ids)} not attempted",
        hint=("wait for the other writer to finish" if lost.locked else "check the database server")
        + ", then plan and apply again (clients already applied have nothing left to change)",
        results=results,
    )


def _run_batch(
    engine: Engine, jobs: Sequence[Job], run_id: int, clock: Clock, sealer: Sealer
) -> list[ClientResult] | None:
    """The fast path for a batch; None when anything failed and nothing was committed."""
    ids = [job.client_id for job in jobs]
    results: dict[str, ClientResult] = {}
    try:
        with clients_transaction(engine, ids) as conn:
            keyed_transaction(conn)
            lives = read_live(conn, ids, lock=True)  # old code's writes: stale, not lost
            writes: list[tuple[ClientLive, ClientLive, Sensitive]] = []
            for job in jobs:
                live = lives[job.client_id]
                try:
                    target = _checked_target(job, live)
                except StalePlan as exc:
                    results[job.client_id] = ClientResult(
                        client_id=job.client_id, outcome="stale", message=_text(exc)
                    )
                    continue
                if target == live:
                    results[job.client_id] = ClientResult(
                        client_id=job.client_id, outcome="unchanged"
                    )
                    continue
                writes.append((live, target, job.sensitive))
            if writes:
                write_live_many(conn, [(live, target) for live, target, _ in writes])
                mismatch = first_mismatch(conn, [target for _, target, _ in writes])
                if mismatch is not None:  # read back, compared whole with the target
                    raise _Mismatch(mismatch)
                record_clients(conn, run_id, writes, clock(), sealer=sealer)
    except (ReconcilerError, sa_exc.SQLAlchemyError, _Mismatch) as exc:
        if _is_disconnect(exc) or _is_locked(exc):
            raise _Lost(ids, _db_detail(exc), locked=_is_locked(exc)) from exc
        log.info(
            "apply: batch of %d rolled back (%s); retrying one client at a time",
            len(jobs),
            type(exc).__name__,
        )
        return None
    for _, target, _ in writes:
        results[target.client_id] = ClientResult(client_id=target.client_id, outcome="applied")
    return [results[job.client_id] for job in jobs]


class _Mismatch(Exception):
    """Read-back differs from the target inside a batch: retry the batch client by client."""


def _checked_target(job: Job, live: ClientLive) -> ClientLive:
    if job.expected_fingerprint is not None and live.fingerprint() != job.expected_fingerprint:
        raise StalePlan(
            f"client {job.client_id}: live state changed since the plan (stale)",
            hint=job.stale_hint,
        )
    return job.target(live)


def _run_one(engine: Engine, job: Job, run_id: int, clock: Clock, sealer: Sealer) -> ClientResult:
    cid = job.client_id
    try:
        with client_transaction(engine, cid) as conn:
            keyed_transaction(conn)
            live = read_live(conn, [cid], lock=True)[cid]
            if (
                job.expected_fingerprint is not None
                and live.fingerprint() != job.expected_fingerprint
            ):
                raise StalePlan(
                    f"client {cid}: live state changed since the plan (stale)", hint=job.stale_hint
                )
            target = job.target(live)
            if target == live:
                return ClientResult(client_id=cid, outcome="unchanged")
            write_live(conn, target)
            written = read_live(conn, [cid])[cid]
            if written != target:
                raise ReconcilerError(
                    f"client {cid}: read-back after write differs from the intended state; "
                    "rolled back",
                    hint="another writer may be active; plan again",
                )
            record_client(conn, run_id, live, target, clock(), sealer=sealer, extra=job.sensitive)
    except StalePlan as exc:
        return ClientResult(client_id=cid, outcome="stale", message=_text(exc))
    except ReconcilerError as exc:
        return ClientResult(client_id=cid, outcome="failed", message=_text(exc))
    except sa_exc.SQLAlchemyError as exc:
        if _is_disconnect(exc) or _is_locked(exc):
            raise _Lost([cid], _db_detail(exc), locked=_is_locked(exc)) from exc
        return ClientResult(
            client_id=cid,
            outcome="failed",
            message=f"client {cid}: database error ({_db_detail(exc)}); nothing written for it",
        )
    return ClientResult(client_id=cid, outcome="applied")


def _text(exc: ReconcilerError) -> str:
    return f"{exc.message} ({exc.hint})" if exc.hint else exc.message
