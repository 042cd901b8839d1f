"""From desired + live to the target live state of one client, through the strategies (SPEC §5).

After a write both stores agree: the legacy list holds exactly the enabled modules, registry rows
carry version and settings. Preserve modules keep their live rows untouched, conflicts included.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.model import (
    OVERRIDE_COLUMNS,
    ClientDesired,
    ClientLive,
    LegacyRow,
    RegistryModule,
    StrategyName,
)
from reconciler.plan.strategies import OVERRIDE_STRATEGIES, STRATEGIES, ModuleState


def module_states(live: ClientLive, legacy_defaults: Sequence[str]) -> dict[str, ModuleState]:
    """Every module either store knows; where both know it the registry wins, as in the
    unified view (plan/unified.py) and the original's merge."""
    listed = set(live.legacy_modules(legacy_defaults))
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
) -> ClientLive:
    """The live state this client should have. `preview_preserved` applies merge where the
    strategy is preserve, to show what preserve holds back (informational changes)."""
    live_states = module_states(live, legacy_defaults)
    listed = set(live.legacy_modules(legacy_defaults))
    target_listed: set[str] = set()
    registry: dict[str, RegistryModule] = {}
    for module in sorted(set(live_states) | set(desired.modules)):
        strategy = module_strategy(desired, module)
        if strategy == "preserve" and preview_preserved:
            strategy = "merge"
        if strategy == "preserve":
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
        legacy=_target_legacy(desired, live, legacy_defaults, target_listed, preview_preserved),
        registry=registry,
    )


def _target_legacy(
    desired: ClientDesired,
    live: ClientLive,
    legacy_defaults: Sequence[str],
    target_listed: set[str],
    preview_preserved: bool,
) -> LegacyRow | None:
    strategy: StrategyName = desired.strategy
    if strategy == "preserve" and preview_preserved:
        strategy = "merge"
    current = live.legacy
    columns: dict[str, object] = {}
    for key, column in OVERRIDE_COLUMNS.items():
        live_value = None if current is None else getattr(current, column)
        columns[column] = OVERRIDE_STRATEGIES[strategy](desired.overrides.get(key), live_value)
    listed = live.legacy_modules(legacy_defaults)
    # Same set: keep the live order, so an order-only difference never causes a write.
    modules = listed if set(listed) == target_listed else tuple(sorted(target_listed))
    if current is None:
        untouched = set(modules) == set(legacy_defaults) and all(
            value in (None, {}) for value in columns.values()
        )
        if untouched:
            return None  # no row still means "the legacy defaults" (SPEC §4)
        columns = {k: {} if v is None else v for k, v in columns.items()}
    return LegacyRow(modules_enabled=modules, **columns)
