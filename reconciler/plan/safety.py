"""Safety thresholds and protected modules: reasons to stop a run before any write (SPEC §5)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.errors import Location, Problem
from reconciler.model import ModuleDef, Safety, rename_map
from reconciler.plan.model import ChangeKind, ClientPlan
from reconciler.plan.target import module_states


def check_safety(
    plans: Sequence[ClientPlan],
    *,
    safety: Safety,
    catalog: Mapping[str, ModuleDef],
    legacy_defaults: Sequence[str],
    settings_file: str = "reconciler.yaml",
) -> list[Problem]:
    """Problems that make this run unsafe; an empty list means it may proceed. Limits are
    reported at `settings_file` (reconciler.yaml as shown), clients at their files."""
    writing = [p for p in plans if p.writes]
    limit = clients_limit_problem(len(writing), safety, settings_file)
    problems = [] if limit is None else [limit]
    problems.extend(client_problems(writing, safety, catalog, legacy_defaults))
    return problems


def clients_limit_problem(writing: int, safety: Safety, settings_file: str) -> Problem | None:
    """The max_clients_changed problem of a run writing `writing` clients (None: within it)."""
    limit = safety.max_clients_changed
    if limit is None or writing <= limit:
        return None
    return Problem(
        location=Location(settings_file),
        path="$.safety.max_clients_changed",
        reason=f"{writing} clients would change, limit is {limit}",
    )


def client_problems(
    plans: Iterable[ClientPlan],
    safety: Safety,
    catalog: Mapping[str, ModuleDef],
    legacy_defaults: Sequence[str],
) -> list[Problem]:
    """The per-client problems (protected modules, disable share) of the plans that write, in
    their order; a streamed run gathers them batch by batch."""
    problems: list[Problem] = []
    for plan in plans:
        if plan.writes:
            problems.extend(_client_problems(plan, safety, catalog, legacy_defaults))
    return problems


def _client_problems(
    plan: ClientPlan,
    safety: Safety,
    catalog: Mapping[str, ModuleDef],
    legacy_defaults: Sequence[str],
) -> Iterable[Problem]:
    where = Location(plan.file or f"client {plan.client_id}")
    disabled = sorted(
        {
            c.module
            for c in plan.changes
            if c.kind is ChangeKind.DISABLE and not c.informational and c.old and c.module
        }
    )
    for module in disabled:
        definition = catalog.get(module)
        if definition is not None and definition.protected:
            yield Problem(
                location=where,
                path=f"$.modules.{module}",
                reason=f"client {plan.client_id}: would disable protected module {module}",
            )
    if plan.live is None or not disabled:
        return
    states = module_states(plan.live, legacy_defaults, rename_map(catalog.values()))
    enabled_before = sum(s.enabled for s in states.values())
    if enabled_before and len(disabled) / enabled_before > safety.max_disable_share:
        yield Problem(
            location=where,
            path="$.modules",
            reason=(
                f"client {plan.client_id}: would disable {len(disabled)} of {enabled_before} "
                f"enabled modules ({len(disabled) / enabled_before:.0%}), "
                f"limit is {safety.max_disable_share:.0%}"
            ),
        )
