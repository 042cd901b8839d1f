"""Plan one client or a fleet: strategy -> target -> diff, cheap equality first (SPEC §5)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from reconciler.model import (
    NO_RENAMES,
    ClientDesired,
    ClientLive,
    ModuleDef,
    Renames,
    read_legacy_list,
    rename_map,
)
from reconciler.plan.diff import diff_client
from reconciler.plan.model import Change, ChangeKind, ClientPlan
from reconciler.plan.target import build_target


def sensitive_paths(catalog: Mapping[str, ModuleDef]) -> dict[str, Collection[tuple[str, ...]]]:
    return {m.id: m.sensitive_paths for m in catalog.values() if m.sensitive_paths}


def plan_client(
    desired: ClientDesired,
    live: ClientLive,
    *,
    legacy_defaults: Sequence[str],
    sensitive: Mapping[str, Collection[tuple[str, ...]]],
    adopt_only: bool = False,
    renames: Renames = NO_RENAMES,
    paths: bool = True,
) -> ClientPlan:
    """The plan of one client; its `target` is what apply writes (equal to `live`: no write).
    `adopt_only`: only the registry rows of modules it adopts from the legacy list and the
    renames of legacy entries, nothing else (issue 13: unify the stores first, with no
    behaviour change). `renames`: old module id -> new id, from the catalog's `replaces`.
    Without `paths`: each module's settings change as one change (see `diff_client`), for a
    plan only counted, checked for safety and written; with adopt_only or a preserve strategy
    (informational changes are counted per path) the plan is whole anyway."""
    paths = paths or adopt_only or _has_preserve(desired)
    target = build_target(desired, live, legacy_defaults, renames=renames)
    changes = (
        []
        if target == live
        else diff_client(live, target, legacy_defaults, sensitive, renames=renames, paths=paths)
    )
    if adopt_only:
        target, changes = _adoption(live, target, changes)
    elif _has_preserve(desired):
        preview = build_target(
            desired, live, legacy_defaults, preview_preserved=True, renames=renames
        )
        if preview != target:
            written = {(c.module, c.kind, c.path) for c in changes}
            changes.extend(
                c
                for c in diff_client(
                    live, preview, legacy_defaults, sensitive, informational=True, renames=renames
                )
                if (c.module, c.kind, c.path) not in written
            )
    return ClientPlan.build(
        changes,
        client_id=desired.client_id,
        name=desired.name,
        file=desired.file,
        strategy=desired.strategy,
        # What apply's stale check compares; a plan without changes is never applied.
        live_fingerprint=live.fingerprint() if changes else "",
        live=live,
        target=target,
    )


def _adoption(
    live: ClientLive, target: ClientLive, changes: list[Change]
) -> tuple[ClientLive, list[Change]]:
    """`--adopt-only`: the adoptions and, on an existing legacy row, the renames of its entries
    (the same modules under their new ids: adoption-class, issue 13); nothing else."""
    adopted = {c.module for c in changes if c.kind is ChangeKind.ADOPT and c.module}
    registry = {**live.registry, **{m: target.registry[m] for m in sorted(adopted)}}
    legacy = live.legacy
    renamed = {
        str(c.old): str(c.new)
        for c in changes
        if c.kind is ChangeKind.RENAME and legacy is not None
    }
    if legacy is not None and renamed:
        modules = read_legacy_list(legacy.modules_enabled, renamed)
        legacy = replace(legacy, modules_enabled=modules)
    kept = [
        c
        for c in changes
        if c.kind is ChangeKind.ADOPT or (c.kind is ChangeKind.RENAME and str(c.old) in renamed)
    ]
    return replace(live, legacy=legacy, registry=registry), kept


def _has_preserve(desired: ClientDesired) -> bool:
    return desired.strategy == "preserve" or any(
        m.strategy == "preserve" for m in desired.modules.values()
    )


def plan_clients(
    desired: Iterable[ClientDesired],
    lives: Mapping[str, ClientLive],
    *,
    legacy_defaults: Sequence[str],
    catalog: Mapping[str, ModuleDef],
    adopt_only: bool = False,
    paths: bool = True,
) -> tuple[list[ClientPlan], int]:
    """Client plans with changes (sorted by client id) and the count of unchanged clients;
    `paths`: as `plan_client`."""
    sensitive = sensitive_paths(catalog)
    renames = rename_map(catalog.values())
    plans: list[ClientPlan] = []
    unchanged = 0
    for client in sorted(desired, key=lambda c: c.client_id):
        live = lives.get(client.client_id) or ClientLive(client_id=client.client_id)
        plan = plan_client(
            client,
            live,
            legacy_defaults=legacy_defaults,
            sensitive=sensitive,
            adopt_only=adopt_only,
            renames=renames,
            paths=paths,
        )
        if plan.writes:
            plans.append(plan)
        elif plan.changes:  # informational only: apply never needs its states
            plans.append(replace(plan, live=None, target=None))
        else:
            unchanged += 1
    return plans, unchanged
