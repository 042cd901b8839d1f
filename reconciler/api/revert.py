"""`revert`: restore a recorded run's before-state, recorded as a run itself (SPEC §5)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Connection

from reconciler.api._store import open_store
from reconciler.apply.runs import execute, revert_jobs
from reconciler.results import ApplyReport, ClientResult, RunMeta


def revert(
    store_url: str,
    run_id: int,
    *,
    client_ids: Sequence[str] = (),
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
    on_start: Callable[[Connection, int], None] | None = None,
) -> ApplyReport:
    """Restore the before-state of run `run_id` (all its clients, or `client_ids`).

    Clients whose live state changed since that run are refused unless `force`. The revert is
    recorded as a run of its own (kind `revert`), so it can be reverted too. `on_start` is
    called as `(connection, run id)` inside the transaction creating the run row.

    Raises:
        RunNotFound: unknown run, or a client that run did not change.
    """
    with open_store(store_url) as store:
        jobs = revert_jobs(store.engine, run_id, client_ids, force=force)
        return execute(
            store.engine,
            jobs,
            kind="revert",
            meta=meta or RunMeta(),
            store=store.display,
            desired_commit=None,
            plan_summary={"clients_changed": len(jobs)},
            reverts_run=run_id,
            on_done=on_done,
            on_start=on_start,
        )
