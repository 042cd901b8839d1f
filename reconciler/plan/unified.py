"""The unified view of one client: every module with its source and the stores' conflicts (SPEC §4).

Pure functions. The legacy list is the row's `modules_enabled`, or the legacy defaults when
the client has no row (the original's rule; `[]` means no modules). Where both stores know a
module the registry's enabled flag, version and settings win, as in the original's merge.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.model import NO_RENAMES, ClientLive, Renames, UnifiedModule


def unify(
    live: ClientLive, legacy_defaults: Sequence[str], renames: Renames = NO_RENAMES
) -> list[UnifiedModule]:
    """Every module of the client in either store, sorted by id."""
    in_legacy = set(live.legacy_modules(legacy_defaults, renames))
    result = []
    for module_id in sorted(in_legacy | set(live.registry)):
        row = live.registry.get(module_id)
        if row is None:
            result.append(
                UnifiedModule(
                    id=module_id, enabled=True, version=None, settings={}, source="legacy"
                )
            )
            continue
        conflicts: list[str] = []
        if module_id in in_legacy and not row.enabled:
            conflicts.append("enabled in the legacy list but disabled in the registry")
        if module_id not in in_legacy and row.enabled:
            where = "legacy list" if live.legacy is not None else "legacy defaults (no legacy row)"
            conflicts.append(f"enabled in the registry but missing from the {where}")
        result.append(
            UnifiedModule(
                id=module_id,
                enabled=row.enabled,
                version=row.version,
                settings=row.settings,
                source="unified" if module_id in in_legacy else "registry",
                conflicts=tuple(conflicts),
            )
        )
    return result


def effective_enabled(
    live: ClientLive, legacy_defaults: Sequence[str], renames: Renames = NO_RENAMES
) -> dict[str, bool]:
    """Module id -> enabled, as the unified view resolves it."""
    return {m.id: m.enabled for m in unify(live, legacy_defaults, renames)}
