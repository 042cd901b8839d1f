"""From desired + live to the target live state of one client, through the strategies (SPEC §5).

After a write both stores agree: the legacy list holds exactly the enabled modules, registry rows
carry version and settings. Preserve modules keep their live rows untouched, conflicts included.
With `renames` (old id -> new id, issue 13) the legacy list's old ids are read as the new
modules, and a written legacy list carries the new id in the old id's place (order kept).
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.model import (
    NO_RENAMES,
    OVERRIDE_COLUMNS,
    ClientDesired,
    ClientLive,
    LegacyRow,
    RegistryModule,
    Renames,
    StrategyName,
    read_legacy_list,
)
from reconciler.plan.strategies import OVERRIDE_STRATEGIES, STRATEGIES, ModuleState


def module_states(
    live: ClientLive, legacy_defaults: Sequence[str], renames: Renames = NO_RENAMES
) -> dict[str, ModuleState]:
    """Every module either store knows; where both know it the registry wins, as in the
    unified view (plan/unified.py) and the original's merge."""
    listed = set(live.legacy_modules(legacy_defaults, renames))
    states: dict[str, ModuleState] = {}
    for module in sorted(listed | set(live.registry)):
        row = live.registry.get(module)
        states[module] = ModuleState(
            enabled=row.enabled if row is not None else module in listed,
            version=None if row is None else row.version,
            settings={} if row is None else row.settings,
        )
    return states


def module_strategy(desired: ClientDesired, module: str) -> StrategyName:
    entry = desired.modules.get(module)
    if entry is not None and entry.strategy is not None:
        return entry.strategy
    return desired.strategy


def build_target(
    desired: ClientDesired,
    live: ClientLive,
    legacy_defaults: Sequence[str],
    *,
    preview_preserved: bool = False,
    renames: Renames = NO_RENAMES,
    live_states: dict[str, ModuleState] | None = None,
) -> ClientLive:
    """The live state this client should have. `preview_preserved` applies merge where the
    strategy is preserve, to show what preserve holds back (informational changes).
    `live_states`: `module_states(live, legacy_defaults, renames)`, when the caller has it."""
    if live_states is None:
        live_states = module_states(live, legacy_defaults, renames)
    listed = set(live.legacy_modules(legacy_defaults, renames))
    target_listed: set[str] = set()
    preserved: set[str] = set()
    registry: dict[str, RegistryModule] = {}
    for module in sorted(set(live_states) | set(desired.modules)):
        strategy = module_strategy(desired, module)
        if strategy == "preserve" and preview_preserved:
            strategy = "merge"
        if strategy == "preserve":
            preserved.add(module)
            if module in listed:
                target_listed.add(module)
            if module in live.registry:
                registry[module] = live.registry[module]
            continue
        state = STRATEGIES[strategy](desired.modules.get(module), live_states.get(module))
        if state is None:
            continue
        if state.enabled:
            target_listed.add(module)
        if module in live.registry or (module in desired.modules and state.enabled):
            registry[module] = RegistryModule(
                enabled=state.enabled, version=state.version, settings=state.settings
            )
    return ClientLive(
        client_id=live.client_id,
        legacy=_target_legacy(
            desired,
            live,
            legacy_defaults,
            _target_list(live.legacy_modules(legacy_defaults), target_listed, renames, preserved),
            preview_preserved,
            renames,
        ),
        registry=registry,
    )


def _target_list(
    listed: tuple[str, ...], target: set[str], renames: Renames, preserved: set[str]
) -> tuple[str, ...]:
    """The legacy list to write for the enabled modules `target`. Same set: the live order, so
    an order-only difference never causes a write. A list holding renamed ids keeps its order
    with each new id in its old id's place (a preserved module keeps its entries as they are)
    and adds new modules sorted at the end; any other list is written sorted."""
    if read_legacy_list(listed, renames) == listed:
        return listed if set(listed) == target else tuple(sorted(target))
    written: list[str] = []
    seen: set[str] = set()
    for entry in listed:
        module = renames.get(entry, entry)
        if module not in target:
            continue
        if module in preserved:
            written.append(entry)
        elif module not in seen:
            written.append(module)
        seen.add(module)
    return (*written, *sorted(target - seen))


def _target_legacy(
    desired: ClientDesired,
    live: ClientLive,
    legacy_defaults: Sequence[str],
    modules: tuple[str, ...],
    preview_preserved: bool,
    renames: Renames,
) -> LegacyRow | None:
    strategy: StrategyName = desired.strategy
    if strategy == "preserve" and preview_preserved:
        strategy = "merge"
    current = live.legacy
    columns: dict[str, object] = {}
    for key, column in OVERRIDE_COLUMNS.items():
        live_value = None if current is None else getattr(current, column)
        columns[column] = OVERRIDE_STRATEGIES[strategy](desired.overrides.get(key), live_value)
    if current is None:
        same = set(read_legacy_list(modules, renames)) == set(
            read_legacy_list(legacy_defaults, renames)
        )
        untouched = same and all(value in (None, {}) for value in columns.values())
        if untouched:
            return None  # no row still means "the legacy defaults" (SPEC §4)
        columns = {k: {} if v is None else v for k, v in columns.items()}
    return LegacyRow(modules_enabled=modules, **columns)
