"""`apply` without a saved plan, streamed (issue 15): plan the fleet batch by batch, then write
it batch by batch, never holding the whole fleet's plan.

Pass 1 (`plan_fleet`) walks the desired state as `plan` does. Of each batch's plans it keeps
what a run must know before its first write (the summary counts, the policy violations, the
safety problems and how many clients write) and spools each writing client's target and live
fingerprint to an encrypted temporary file (apply/spool.py); the plans themselves are dropped,
but for the first clients kept for printing. Refusals (safety limits, `deny` policies, invalid
desired state, unresolvable secrets, unknown `--client` ids) therefore all happen after the
whole fleet is planned and before any write, as with a whole Plan.

Pass 2 (`apply_fleet`) reads the spool back in client id order and runs it through the same
executor as `apply` (apply/runs.py): locked, stale-checked against the fingerprint planned,
written, read back and recorded per batch, each client atomic.

Memory grows with one batch, the index of the spooled client ids and the per-client results,
not with the plans: a 100,000-client first apply no longer holds gigabytes of plans.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.api import _batches
from reconciler.api._fleet import Progress, walk_in_store
from reconciler.api._shown import shown_plan
from reconciler.api._store import open_store
from reconciler.api.apply import _sync_catalog
from reconciler.api.plan import _assemble
from reconciler.apply.runs import enforce_denials, execute, refuse_unsafe
from reconciler.apply.spool import Spool
from reconciler.desired.secrets import unresolved_error
from reconciler.desired.shown import ShownPaths
from reconciler.errors import Problem
from reconciler.model import ClientDesired, ModuleDef, Safety, rename_map
from reconciler.plan.build import plan_client, sensitive_paths
from reconciler.plan.model import ClientPlan, Plan, Summary, summarize
from reconciler.plan.preview import PlanPreview
from reconciler.plan.safety import client_problems, clients_limit_problem
from reconciler.plan.violation import Violation
from reconciler.results import ApplyReport, ClientResult, RunMeta

log = logging.getLogger(__name__)

SHOW_ALL = 1000  # a plan of up to this many clients is printed whole before applying
SHOWN = 20  # a larger one: its first clients by id, then the counts of all


@dataclass(kw_only=True)
class FleetPlan:
    """Pass 1 of a streamed apply: what to print, what refuses the run, the spooled work.

    A context manager: leaving it deletes the spool (nothing of it outlives the process)."""

    shown: Plan  # the clients to print (all, or the first SHOWN), the run's violations
    summary: Summary  # of the whole plan
    listed: int  # clients with changes (writing, or informational only), as a plan lists them
    safety_problems: tuple[Problem, ...]  # what refuses the run without --force
    spool: Spool = field(repr=False)

    @property
    def hidden(self) -> int:
        """Clients with changes that `shown` leaves out."""
        return self.listed - len(self.shown.clients)

    @property
    def preview(self) -> Plan | PlanPreview:
        """What to print before applying: the whole plan, or its head with every count."""
        if not self.hidden:
            return self.shown
        return PlanPreview(
            plan=self.shown, summary=self.summary, hidden=self.hidden, limit=SHOW_ALL
        )

    @property
    def writes(self) -> bool:
        """True when applying writes anything (informational changes never do)."""
        return self.summary.clients_changed > 0

    def __enter__(self) -> FleetPlan:
        return self

    def __exit__(self, *exc: object) -> None:
        self.spool.close()


def plan_fleet(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    client_ids: Sequence[str] = (),
    shard: str | None = None,
    jobs: int | None = None,
    on_progress: Progress | None = None,
    adopt_only: bool = False,
) -> FleetPlan:
    """Pass 1: plan every batch of the fleet, spooling the work instead of keeping the plans.

    Args and raises: as `plan()` (the desired state's problems, unresolvable secrets and
    unknown `client_ids` are raised once the whole fleet is walked, before anything is
    written). Use the result as a context manager (it deletes the spool), and pass it to
    `apply_fleet`.
    """
    started = time.perf_counter()
    gathered = _Gathered()
    fleet = walk_in_store(
        store_url,
        desired_dir,
        ref,
        _batches.plan_counted,
        client_ids=client_ids,
        shard=shard,
        jobs=jobs,
        on_progress=on_progress,
        extra=(adopt_only, SHOW_ALL, SHOWN),
    )
    try:
        with fleet as (stream, batches):
            safety, defaults = stream.settings.safety, stream.settings.legacy_defaults
            for planned in batches:
                gathered.take(*planned, safety, stream.catalog, defaults)
                del planned  # not alive while the next batch is read (DesiredStream._tasks)
            kept = gathered.shown(defaults, stream.catalog, adopt_only)
            state = stream.state({})
        if gathered.unresolved:  # a clear error per client and reference, before any write
            raise unresolved_error(gathered.unresolved)
    except BaseException:
        gathered.spool.close()
        raise
    shown = shown_plan(
        _assemble(
            store_url,
            state,
            kept,
            gathered.unchanged,
            adopt_only=adopt_only,
            violations=gathered.violations,
        ),
        desired_dir,
    )
    limit = clients_limit_problem(gathered.summary.clients_changed, safety, shown.settings_file)
    per_client = [p for _, found in sorted(gathered.problems, key=lambda f: f[0]) for p in found]
    problems = ShownPaths(desired_dir).problems(per_client)
    log.info(
        "plan (streamed): %d clients with changes (%d to write, %d bytes spooled), %d unchanged, "
        "%.3f s",
        gathered.listed,
        len(gathered.spool),
        gathered.spool.size,
        gathered.unchanged,
        time.perf_counter() - started,
    )
    return FleetPlan(
        shown=shown,
        summary=dataclasses.replace(gathered.summary, clients_unchanged=gathered.unchanged),
        safety_problems=((limit,) if limit else ()) + problems,
        listed=gathered.listed,
        spool=gathered.spool,
    )


def check_fleet_policies(planned: FleetPlan, *, force: bool, reason: str | None) -> None:
    """Refuse a plan a `deny` policy forbids unless `force` with a `reason` (as
    `check_policies`, which the CLI asks before asking for confirmation)."""
    enforce_denials(planned.shown.violations, force=force, reason=reason)


def apply_fleet(
    store_url: str,
    planned: FleetPlan,
    *,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
) -> ApplyReport:
    """Pass 2: write what `plan_fleet` spooled, as `apply()` writes a Plan: each client
    atomically, in client id order, stale-checked against the live state it was planned on.

    Returns and raises: as `apply()` (UnsafePlan before any write; ConnectionLost mid-run).
    """
    meta = meta or RunMeta()
    violations = planned.shown.violations
    overridden = enforce_denials(violations, force=force, reason=meta.reason)
    if not force:
        refuse_unsafe(planned.safety_problems)
    recorded = {}
    if violations:
        recorded = {
            "policy_warnings": sum(v.effect == "warn" for v in violations),
            "policy_denials_overridden": overridden,
        }
    with open_store(store_url, initialised=False) as store:
        if len(planned.spool):
            _sync_catalog(store, planned.shown.catalog)
        return execute(
            store.engine,
            planned.spool,
            kind="apply",
            meta=meta,
            store=store.display,
            desired_commit=planned.shown.desired_commit,
            plan_summary=planned.summary.to_json(),
            recorded=recorded,
            on_done=on_done,
        )


@dataclass
class _Gathered:
    """What pass 1 keeps of the batches it has planned."""

    spool: Spool = field(default_factory=Spool)
    summary: Summary = field(default_factory=Summary)
    # Printed before applying: the plans, with the client's desired state to plan it in full.
    kept: list[tuple[ClientPlan, ClientDesired | None]] = field(default_factory=list)
    listed: int = 0  # clients with changes
    unchanged: int = 0
    violations: list[Violation] = field(default_factory=list)
    problems: list[tuple[str, list[Problem]]] = field(default_factory=list)
    unresolved: list[str] = field(default_factory=list)

    def take(
        self,
        plans: Sequence[ClientPlan],
        unchanged: int,
        violations: Sequence[Violation],
        missing: Sequence[str],
        desired: Mapping[str, ClientDesired],
        safety: Safety,
        catalog: Mapping[str, ModuleDef],
        legacy_defaults: Sequence[str],
    ) -> None:
        """One planned batch (`_batches.plan_counted`'s result): its unresolved references,
        counts, violations and safety problems, and its plans (see `add`)."""
        self.unresolved.extend(missing)
        self.unchanged += unchanged
        self.violations.extend(violations)
        for plan in plans:
            found = client_problems([plan], safety, catalog, legacy_defaults)
            if found:
                self.problems.append((plan.client_id, found))
        self.add(plans, desired)

    def add(
        self,
        plans: Sequence[ClientPlan],
        desired: Mapping[str, ClientDesired],
    ) -> None:
        """Count a batch's plans, spool their work, keep the first for printing (with their
        clients' desired state from `desired`)."""
        self.summary = _sum(self.summary, summarize(plans, 0))
        self.listed += len(plans)
        for plan in plans:
            if plan.writes and plan.target is not None:  # as plan_jobs chooses
                self.spool.add(plan.client_id, plan.live_fingerprint, plan.target)
        kept = [*self.kept, *((p, desired.get(p.client_id)) for p in plans)]
        if self.listed > SHOW_ALL and len(kept) > SHOWN:
            kept = heapq.nsmallest(SHOWN, kept, key=lambda k: k[0].client_id)
        self.kept = [  # without the target (the spool has it): only the kept ones copied
            (p if p.target is None else dataclasses.replace(p, target=None), d) for p, d in kept
        ]

    def shown(
        self, legacy_defaults: Sequence[str], catalog: Mapping[str, ModuleDef], adopt_only: bool
    ) -> list[ClientPlan]:
        """The kept plans as `plan` shows them: planned again in full from the same desired
        and live state (pass 1 counts a module's settings change as one change), without
        states."""
        sensitive, renames = sensitive_paths(catalog), rename_map(catalog.values())
        shown = []
        for plan, desired in self.kept:
            if plan.live is not None and desired is not None:  # else informational: in full
                plan = plan_client(
                    desired,
                    plan.live,
                    legacy_defaults=legacy_defaults,
                    sensitive=sensitive,
                    adopt_only=adopt_only,
                    renames=renames,
                )
            shown.append(dataclasses.replace(plan, live=None, target=None))
        return shown


def _sum(a: Summary, b: Summary) -> Summary:
    """Counts of two disjoint sets of clients (each count is per client, so they add up)."""
    return Summary(
        **{f.name: getattr(a, f.name) + getattr(b, f.name) for f in dataclasses.fields(a)}
    )
