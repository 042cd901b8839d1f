"""Strategies: per module, `(desired, live) -> target`, `None` meaning absent (SPEC §5).

- merge: desired values win; what desired does not mention is kept; settings merge deeply.
- replace: live becomes exactly desired; unlisted modules disabled, unlisted keys removed.
- preserve: never written; the engine shows the merge result as informational only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from reconciler.model import JSON, DesiredModule, StrategyName, deep_merge


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleState:
    """A module of one client as both stores together express it."""

    enabled: bool
    version: str | None = None
    settings: Mapping[str, JSON] = field(default_factory=dict)


ModuleStrategy = Callable[[DesiredModule | None, ModuleState | None], ModuleState | None]
OverrideStrategy = Callable[[JSON, JSON], JSON]


def merge_module(desired: DesiredModule | None, live: ModuleState | None) -> ModuleState | None:
    if desired is None:
        return live
    base = live.settings if live is not None else {}
    return ModuleState(
        enabled=desired.enabled,
        version=desired.version or None,
        settings=deep_merge(base, desired.settings),
    )


def replace_module(desired: DesiredModule | None, live: ModuleState | None) -> ModuleState | None:
    if desired is None:
        return None if live is None else replace(live, enabled=False)
    return ModuleState(
        enabled=desired.enabled, version=desired.version or None, settings=dict(desired.settings)
    )


def preserve_module(desired: DesiredModule | None, live: ModuleState | None) -> ModuleState | None:
    return live


def merge_override(desired: JSON, live: JSON) -> JSON:
    if desired is None:
        return live
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        return deep_merge(live, desired)
    return desired


def replace_override(desired: JSON, live: JSON) -> JSON:
    if desired is None:
        # Unmentioned columns go back to the column default, but NULL stays NULL (no-op write).
        return None if live is None else {}
    return desired


def preserve_override(desired: JSON, live: JSON) -> JSON:
    return live


STRATEGIES: dict[StrategyName, ModuleStrategy] = {
    "merge": merge_module,
    "replace": replace_module,
    "preserve": preserve_module,
}
OVERRIDE_STRATEGIES: dict[StrategyName, OverrideStrategy] = {
    "merge": merge_override,
    "replace": replace_override,
    "preserve": preserve_override,
}
