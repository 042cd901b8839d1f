"""`plan`: what `apply` would change, per client and store (SPEC §5, §6)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from reconciler.api import _batches, heap
from reconciler.api._fleet import Progress, walk_in_store
from reconciler.api._shown import shown_errors, shown_plan
from reconciler.api._store import open_store
from reconciler.desired.secrets import resolve_or_raise, state_directory, unresolved_error
from reconciler.desired.source import WorkingTree
from reconciler.live.engine import display_url
from reconciler.live.state import read_live
from reconciler.model import ClientDesired, DesiredState
from reconciler.plan.build import plan_clients
from reconciler.plan.changed import ChangedSince
from reconciler.plan.model import ClientPlan, Plan
from reconciler.plan.policy import evaluate
from reconciler.plan.violation import Violation

log = logging.getLogger(__name__)


def plan(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    client_ids: Sequence[str] = (),
    shard: str | None = None,
    changed_since: str | None = None,
    jobs: int | None = None,
    on_progress: Progress | None = None,
    adopt_only: bool = False,
) -> Plan:
    """Compute what `apply` would change.

    Args:
        store_url: SQLAlchemy URL of the live stores.
        desired_dir: the desired-state directory (or the path of it inside the repo for `ref`).
        ref: read the desired state from this git revision instead of the working tree.
        client_ids: only these clients (each must exist in the desired state).
        shard: `K/N`, only the clients of that shard.
        jobs: worker processes for a large tree (None: `RECONCILER_JOBS`, else 1).
        on_progress: called as `(client files done, client files in all)` after each batch.
        changed_since: a git revision; plan only the clients whose resolved desired state
            differs between it and the working tree (or `ref`); `plan.changed_since` says
            what was compared and which clients were deleted (see `changed_clients`).
        adopt_only: only the registry's adoption of modules the legacy list enables and the
            renames of legacy entries under a replaced id (issue 13): no enable, disable,
            update or other legacy write.

    Returns:
        A `Plan` listing the clients with changes (sorted), with the unchanged count, and
        `violations`: the policies/*.yaml rules its changes break (`plan.denied` when a `deny`
        rule is among them: `apply` refuses it unless forced with a reason).

    Raises:
        ValidationFailed: the desired state is invalid (exit 1).
        ReconcilerError: the store cannot be read or is not initialised (exit 1); or a secret
            reference (`{secret: {env|file: ...}}`) cannot be resolved: the message names every
            client, module, setting and variable or file, never a value (issue 18).
    """
    started = time.perf_counter()
    if changed_since is not None:
        with shown_errors(desired_dir):
            state, since = changed_clients(desired_dir, changed_since, ref=ref)
        chosen = _batches.select([state.clients[c] for c in since.changed], client_ids, shard)
        return plan_loaded(store_url, state, chosen, since, adopt_only=adopt_only, root=desired_dir)
    # Streaming: each batch of clients is resolved, read live and planned, then dropped;
    # only plans with changes are kept (issue 8: memory grows with the batch).
    plans: list[ClientPlan] = []
    violations: list[Violation] = []
    unchanged = 0
    fleet = walk_in_store(
        store_url,
        desired_dir,
        ref,
        _batches.plan,
        client_ids=client_ids,
        shard=shard,
        jobs=jobs,
        on_progress=on_progress,
        extra=(adopt_only,),
    )
    unresolved: list[str] = []
    with fleet as (stream, batches), heap.kept() as keep:
        for batch_plans, batch_unchanged, batch_violations, missing in batches:
            plans.extend(batch_plans)
            unchanged += batch_unchanged
            violations.extend(batch_violations)
            unresolved.extend(missing)
            keep()  # the plans so far: not traversed by every later gc pass
        state = stream.state({})
    if unresolved:  # a clear error per client and reference, before anything is written
        raise unresolved_error(unresolved)
    log.info(
        "plan: %d clients with changes, %d unchanged, %.3f s",
        len(plans),
        unchanged,
        time.perf_counter() - started,
    )
    planned = _assemble(
        store_url, state, plans, unchanged, adopt_only=adopt_only, violations=violations
    )
    return shown_plan(planned, desired_dir)


def plan_loaded(
    store_url: str,
    state: DesiredState,
    chosen: Sequence[ClientDesired],
    since: ChangedSince | None = None,
    *,
    adopt_only: bool = False,
    root: str,
) -> Plan:
    """The plan of these clients of an already loaded desired state (one live read); secret
    references are resolved first (ReconcilerError naming each one that cannot be); `root` is
    the desired-state directory as the user gave it (for shown paths)."""
    chosen = resolve_or_raise(chosen, state.catalog, state_directory(state))
    with open_store(store_url) as store, store.connect() as conn:
        lives = read_live(conn, [c.client_id for c in chosen])
    plans, unchanged = plan_clients(
        chosen,
        lives,
        legacy_defaults=state.settings.legacy_defaults,
        catalog=state.catalog,
        adopt_only=adopt_only,
    )
    clients = {c.client_id: c for c in chosen}
    violations = evaluate(state.policies, clients, plans)
    planned = _assemble(
        store_url, state, plans, unchanged, since, adopt_only=adopt_only, violations=violations
    )
    return shown_plan(planned, root)


def _assemble(
    store_url: str,
    state: DesiredState,
    plans: Sequence[ClientPlan],
    unchanged: int,
    since: ChangedSince | None = None,
    *,
    adopt_only: bool = False,
    violations: Sequence[Violation] = (),
) -> Plan:
    """The Plan of a run: client plans sorted, with the desired state it was made from and
    the policy violations of its changes."""
    return Plan(
        clients=tuple(sorted(plans, key=lambda p: p.client_id)),
        unchanged=unchanged,
        store=display_url(store_url),
        desired_commit=state.commit,
        desired_root=str(state.root),
        settings=state.settings,
        catalog=state.catalog,
        changed_since=since,
        adopt_only=adopt_only,
        violations=tuple(sorted(violations, key=_violation_order)),
    )


def _violation_order(v: Violation) -> tuple[str, str, str, str]:
    return (v.client_id, v.policy, v.module or "", v.change)


def save_plan(
    planned: Plan, path: str, *, desired_dir: str | None = None, ref: str | None = None
) -> None:
    """Write `planned` to `path` as a saved plan (no sensitive values, checksummed; signed with
    RECONCILER_PLAN_KEY when set). The file records the desired state's commit; when the plan
    was made from `desired_dir`'s working tree (no `ref`) and it has uncommitted changes, the
    file says so with a fingerprint of its files, which `apply FILE` checks.

    Raises:
        ReconcilerError: the path cannot be written.
    """
    from reconciler.apply.plan_file import write_plan_file  # only with --out

    uncommitted = None
    if desired_dir is not None and ref is None:
        tree = WorkingTree(desired_dir)
        if tree.uncommitted():
            uncommitted = tree.content_fingerprint()
            log.info(
                "plan: %s has uncommitted changes; the saved plan is bound to them", desired_dir
            )
    write_plan_file(planned, path, uncommitted=uncommitted)


def changed_clients(
    desired_dir: str, since: str, *, ref: str | None = None
) -> tuple[DesiredState, ChangedSince]:
    """The clients whose resolved desired state differs between git revision `since` and the
    working tree (or `ref`), for `plan --changed-since` (SPEC §6).

    Changed paths come from `git diff --name-only -z` (plus untracked files). When only client
    files changed, just those are parsed and resolved on both sides; when a profile or a module
    changed, only the clients whose files can use it are resolved (a file naming it, found by
    its bytes), then those using it are resolved at `since`; a reconciler.yaml change to what
    clients resolve compares every client. Clients whose file is gone are reported in
    `ChangedSince.deleted` and not planned: their live state is left as is.

    Returns:
        The current desired state (holding at least the changed clients) and what was compared.

    Raises:
        ValidationFailed: the current desired state is invalid. (An invalid state at `since`
            is a warning: every candidate client is then planned.)
        ReconcilerError: not a git repository, or an unknown revision.
    """
    from reconciler.desired.changed_since import changed_clients as compare  # git diff & co

    return compare(desired_dir, since, ref=ref)
