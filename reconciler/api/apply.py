"""`apply`: write a plan (or a saved plan file) to both stores, each client atomically (SPEC §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from sqlalchemy import Connection

from reconciler.api._store import Store, open_store
from reconciler.api.plan import plan_loaded
from reconciler.api.validate import validate
from reconciler.apply.plan_file import read_plan_file
from reconciler.apply.runs import enforce_safety, execute, plan_jobs, saved_jobs
from reconciler.live.engine import display_url
from reconciler.live.locks import catalog_transaction
from reconciler.live.registry import sync_catalog
from reconciler.model import ModuleDef
from reconciler.plan.model import Plan
from reconciler.results import ApplyReport, ClientResult, RunMeta

log = logging.getLogger(__name__)


def apply(
    store_url: str,
    planned: Plan,
    *,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
    kind: str = "apply",
    on_start: Callable[[Connection, int], None] | None = None,
) -> ApplyReport:
    """Apply a plan computed by `plan()`: each client atomically, stale-checked and recorded.

    Args:
        store_url: the same store the plan was computed against.
        planned: the plan; clients whose live state changed since are refused as stale.
        force: skip the safety thresholds and protected-module checks.
        meta: actor, command and reason recorded with the run (and the clock).
        on_done: called after each client (progress).
        kind: recorded run kind (`apply`, or `heal` from `drift --heal`).
        on_start: called as `(connection, run id)` inside the transaction creating the run
            row (a rollout links the run to its wave there).

    Returns:
        An `ApplyReport`; `report.ok` is False when any client was stale or failed (exit 1).

    Raises:
        UnsafePlan: a safety limit was hit and `force` is False; nothing was written.
        ConnectionLost: the store went away mid-run; the run is recorded as partial.
    """
    enforce_safety(planned, force=force)
    jobs = plan_jobs(planned)
    with open_store(store_url, initialised=False) as store:
        if jobs:
            _sync_catalog(store, planned.catalog)
        return execute(
            store.engine,
            jobs,
            kind=kind,
            meta=meta or RunMeta(),
            store=store.display,
            desired_commit=planned.desired_commit,
            plan_summary=planned.summary.to_json(),
            on_done=on_done,
            on_start=on_start,
        )


def apply_saved(
    store_url: str,
    plan_file: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
) -> ApplyReport:
    """Apply exactly a plan saved with `plan --out FILE`.

    Sensitive values are not in the file: they come from the desired state, and each client's
    changes must hash exactly as saved. Clients whose live state or desired state changed since
    are refused as stale; the others are applied.

    Raises:
        ReconcilerError: the file cannot be read. DamagedPlan: it is damaged, of another format
            version or for another store; nothing is written.
        UnsafePlan: a safety limit was hit and `force` is False; nothing was written.
    """
    saved = read_plan_file(plan_file, store=display_url(store_url))
    state = validate(desired_dir, ref=ref)
    # Safety is judged on the plan as it stands now, from the state loaded once above.
    chosen = [state.clients[c.client_id] for c in saved.clients if c.client_id in state.clients]
    enforce_safety(plan_loaded(store_url, state, chosen), force=force)
    jobs = saved_jobs(saved, state, name=plan_file)
    with open_store(store_url, initialised=False) as store:
        if jobs:  # as `apply` does: history and status mask from it
            _sync_catalog(store, state.catalog)
        return execute(
            store.engine,
            jobs,
            kind="apply",
            meta=meta or RunMeta(),
            store=store.display,
            desired_commit=saved.desired_commit,
            plan_summary={"clients_changed": len(saved.clients)},
            on_done=on_done,
        )


def _sync_catalog(store: Store, catalog: Mapping[str, ModuleDef]) -> None:
    """Before a run writes clients: the store's module catalog as the desired state has it,
    synced under its own lock (two runs may start at once)."""
    if not catalog:
        return
    with catalog_transaction(store.engine) as conn:
        changed = sync_catalog(conn, catalog)
    log.debug("catalog sync: %d module definitions written", changed)
