"""`apply`: write a plan (or a saved plan file) to both stores, each client atomically (SPEC §5)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from sqlalchemy import Connection

from reconciler.api._store import Store, open_store
from reconciler.api.plan import plan_loaded
from reconciler.api.validate import validate
from reconciler.apply.plan_file import read_plan_file
from reconciler.apply.runs import (
    enforce_policies,
    enforce_safety,
    execute,
    plan_jobs,
    saved_jobs,
)
from reconciler.desired.secrets import resolve_or_raise
from reconciler.desired.source import WorkingTree
from reconciler.errors import DamagedPlan, Location, Problem, UnsafePlan
from reconciler.live.engine import display_url
from reconciler.live.locks import catalog_transaction
from reconciler.live.registry import sync_catalog
from reconciler.model import ModuleDef, Safety
from reconciler.plan.model import Plan
from reconciler.plan.saved import SavedPlan
from reconciler.plan.select import parse_shard
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
        UnsafePlan: a safety limit was hit and `force` is False, or a `deny` policy is broken
            and not overridden with `force` and a reason in `meta`; nothing was written.
        ConnectionLost: the store went away mid-run; the run is recorded as partial.
    """
    meta = meta or RunMeta()
    overridden = enforce_policies(planned, force=force, reason=meta.reason)
    enforce_safety(planned, force=force)
    jobs = plan_jobs(planned)
    with open_store(store_url, initialised=False) as store:
        if jobs:
            _sync_catalog(store, planned.catalog)
        return execute(
            store.engine,
            jobs,
            kind=kind,
            meta=meta,
            store=store.display,
            desired_commit=planned.desired_commit,
            plan_summary=planned.summary.to_json(),
            recorded=_policy_outcome(planned, overridden),
            on_done=on_done,
            on_start=on_start,
        )


def apply_saved(
    store_url: str,
    plan_file: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    client_ids: Sequence[str] = (),
    shard: str | None = None,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
) -> ApplyReport:
    """Apply exactly a plan saved with `plan --out FILE` (only its clients among `client_ids`
    and in `shard` K/N, when given: one shard of a fleet-wide plan per worker).

    The desired state is read at the commit the plan was made from (as `--ref` does), whatever
    the working tree holds now, so a plan reviewed on a pull request applies as reviewed after
    later commits; a plan made from uncommitted files applies only while the working tree still
    holds exactly those files. Sensitive values are not in the file: they come from the desired
    state at that commit, and each client's changes must hash exactly as saved. Clients whose
    live state changed since, or whose changes no longer hash as saved, are refused as stale;
    the others are applied. `ref` overrides the commit recorded in the file.

    Raises:
        ReconcilerError: the file cannot be read. DamagedPlan: it is damaged, edited, unsigned
            or wrongly signed (RECONCILER_PLAN_KEY), of another format version, for another
            store, or made from uncommitted files the working tree no longer holds; nothing is
            written.
        UnsafePlan: a safety limit was hit and `force` is False; nothing was written. With
            `shard` or `client_ids`, max_clients_changed is judged on the whole saved plan.
    """
    whole = read_plan_file(plan_file, store=display_url(store_url))
    saved = _select(whole, client_ids, shard)
    state = validate(desired_dir, ref=_revision_of(saved, desired_dir, ref))
    if saved is not whole and not force:
        _enforce_whole_plan_limit(len(whole.clients), state.settings.safety, plan_file)
    # Safety is judged on the plan as it stands now, from the state loaded once above.
    chosen = [state.clients[c.client_id] for c in saved.clients if c.client_id in state.clients]
    # Secret references resolve now, all or nothing, before any write (issue 18).
    chosen = resolve_or_raise(chosen, state.catalog, desired_dir)
    state = replace(state, clients={**state.clients, **{c.client_id: c for c in chosen}})
    now = plan_loaded(store_url, state, chosen, adopt_only=saved.adopt_only, root=desired_dir)
    meta = meta or RunMeta()
    overridden = enforce_policies(now, force=force, reason=meta.reason)
    enforce_safety(now, force=force)
    jobs = saved_jobs(saved, state, name=plan_file)
    with open_store(store_url, initialised=False) as store:
        if jobs:  # as `apply` does: history and status mask from it
            _sync_catalog(store, state.catalog)
        return execute(
            store.engine,
            jobs,
            kind="apply",
            meta=meta,
            store=store.display,
            desired_commit=saved.desired_commit,
            plan_summary={"clients_changed": len(saved.clients)},
            recorded=_policy_outcome(now, overridden),
            on_done=on_done,
        )


def _revision_of(saved: SavedPlan, desired_dir: str, ref: str | None) -> str | None:
    """Where the saved plan's desired state is: `ref` when given; the working tree when the
    plan was made from uncommitted files (refused unless it still holds exactly them), or
    when it has no commit; else its commit."""
    if ref is not None:
        return ref
    if saved.uncommitted is not None:
        if WorkingTree(desired_dir).content_fingerprint() != saved.uncommitted:
            raise DamagedPlan(
                f"the plan was made from uncommitted files in {desired_dir}, and the working tree "
                "no longer holds them; nothing was applied",
                hint="plan again (commit first, so the plan binds to a commit)",
            )
        return None
    return saved.desired_commit


def _enforce_whole_plan_limit(total: int, safety: Safety, plan_file: str) -> None:
    """A shard applies part of one reviewed plan: max_clients_changed is judged on the whole
    plan, so splitting it into shards never slips past the limit (issue 17)."""
    limit = safety.max_clients_changed
    if limit is None or total <= limit:
        return
    problem = Problem(
        location=Location("reconciler.yaml"),
        path="$.safety.max_clients_changed",
        reason=f"{total} clients would change in {plan_file} as a whole, limit is {limit} "
        "(each shard applies part of it)",
    )
    raise UnsafePlan(
        "run refused before any write: 1 safety check(s) failed",
        hint="review the plan; rerun every shard with --force (and --reason) to proceed anyway",
        problems=[problem],
    )


def _select(saved: SavedPlan, client_ids: Sequence[str], shard: str | None) -> SavedPlan:
    """The saved plan's clients that `--client` and `--shard K/N` keep."""
    if not client_ids and shard is None:
        return saved
    parsed, wanted = parse_shard(shard), set(client_ids)
    kept = tuple(
        c
        for c in saved.clients
        if (not wanted or c.client_id in wanted) and (parsed is None or c.client_id in parsed)
    )
    return replace(saved, clients=kept)


def check_policies(planned: Plan, *, force: bool = False, reason: str | None = None) -> None:
    """Refuse a plan a `deny` policy forbids, unless `force` with a `reason` (issue 16); the
    CLI asks this before asking for confirmation, `apply` again before writing.

    Raises:
        UnsafePlan: with one problem per denied change (the rule's file:line:col); exit 1.
    """
    enforce_policies(planned, force=force, reason=reason)


def _policy_outcome(planned: Plan, overridden: int) -> dict[str, int]:
    """What history records of the policies a run broke ({} when none)."""
    if not planned.violations:
        return {}
    return {
        "policy_warnings": sum(v.effect == "warn" for v in planned.violations),
        "policy_denials_overridden": overridden,
    }


def _sync_catalog(store: Store, catalog: Mapping[str, ModuleDef]) -> None:
    """Before a run writes clients: the store's module catalog as the desired state has it,
    synced under its own lock (two runs may start at once)."""
    if not catalog:
        return
    with catalog_transaction(store.engine) as conn:
        changed = sync_catalog(conn, catalog)
    log.info("catalog sync: %d module definitions written", changed)
