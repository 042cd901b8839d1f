"""Changes between a client's live and target state, per module, store and JSON path (SPEC §5).

Lists are atoms (SPEC §3: lists replace), so the walk descends only into dicts; a key present
on one side only is reported leaf by leaf, so sensitive values deep inside stay maskable.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence

from reconciler.model import JSON, NO_RENAMES, OVERRIDE_COLUMNS, ClientLive, Renames, is_mapping
from reconciler.plan.model import ABSENT, Change, ChangeKind, new_change
from reconciler.plan.strategies import ModuleState
from reconciler.plan.target import module_states

# The store sets of a change, shared (frozensets are immutable).
LEGACY = frozenset({"legacy"})
REGISTRY = frozenset({"registry"})


def json_paths(
    old: JSON, new: JSON, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], JSON, JSON]]:
    """Yield (path, old, new) for every leaf that differs; ABSENT marks a missing side."""
    found: list[tuple[tuple[str, ...], JSON, JSON]] = []
    _collect(old, new, path, found)
    return iter(found)


def _collect(
    old: JSON, new: JSON, path: tuple[str, ...], found: list[tuple[tuple[str, ...], JSON, JSON]]
) -> None:
    """json_paths into a list (a recursion of plain calls: no generator per level)."""
    if old == new:
        return
    if (old is ABSENT or (type(old) is dict and not old)) and type(new) is dict and new:
        _added(new, path, found)  # a key or module new on this side (all of an adoption)
        return
    old_is_map = is_mapping(old)
    new_is_map = is_mapping(new)
    if (
        (old_is_map or old is ABSENT)
        and (new_is_map or new is ABSENT)
        and (old_is_map or new_is_map)
    ):
        old_map: Mapping[str, JSON] = old if old_is_map else {}
        new_map: Mapping[str, JSON] = new if new_is_map else {}
        for key in sorted(set(old_map) | set(new_map), key=str):
            _collect(old_map.get(key, ABSENT), new_map.get(key, ABSENT), (*path, str(key)), found)
        if not old_map and not new_map:
            found.append((path, old, new))
        return
    found.append((path, old, new))


def _added(
    new: Mapping[str, JSON], path: tuple[str, ...], found: list[tuple[tuple[str, ...], JSON, JSON]]
) -> None:
    """`_collect(ABSENT, new, path, found)` for a non-empty mapping `new`: each leaf added."""
    for key in sorted(new, key=str):
        item, at = new[key], (*path, str(key))
        if type(item) is dict and item:
            _added(item, at, found)
        elif is_mapping(item) and item:
            _collect(ABSENT, item, at, found)
        else:  # a scalar, a list or an empty mapping: one leaf
            found.append((at, ABSENT, item))


def is_sensitive(path: tuple[str, ...], sensitive_paths: Collection[tuple[str, ...]]) -> bool:
    """A path is sensitive when it lies at or under a sensitive path, or holds one inside it."""
    n = len(path)
    return any(p[:n] == path or path[: len(p)] == p for p in sensitive_paths)


def diff_client(
    live: ClientLive,
    target: ClientLive,
    legacy_defaults: Sequence[str],
    sensitive: Mapping[str, Collection[tuple[str, ...]]],
    *,
    informational: bool = False,
    renames: Renames = NO_RENAMES,
    before: Mapping[str, ModuleState] | None = None,
) -> list[Change]:
    """Every difference between `live` and `target` as Changes (unsorted). With `renames`,
    modules are compared as the legacy list reads (old ids as the new modules), and an old id
    the target writes as its new id is one RENAME change (issue 13). `before`:
    `module_states(live, legacy_defaults, renames)`, when the caller has it."""
    cid = live.client_id
    changes: list[Change] = list(_renames(live, target, legacy_defaults, renames, informational))
    if before is None:
        before = module_states(live, legacy_defaults, renames)
    after = module_states(target, legacy_defaults, renames)
    listed_before = set(live.legacy_modules(legacy_defaults, renames))
    listed_after = set(target.legacy_modules(legacy_defaults, renames))
    for module in sorted(set(before) | set(after)):
        old_row, new_row = live.registry.get(module), target.registry.get(module)
        stores = set()
        if (module in listed_before) != (module in listed_after):
            stores.add("legacy")
        if (old_row is None) != (new_row is None) or (
            old_row is not None and new_row is not None and old_row.enabled != new_row.enabled
        ):
            stores.add("registry")
        old_state, new_state = before.get(module), after.get(module)
        now_enabled = new_state is not None and new_state.enabled
        # Only the registry learns of a module the legacy list already enables: adoption
        # (its row is new, so `new_row` is set); path () carries the version.
        adopt = stores == {"registry"} and old_row is None and now_enabled
        if stores:
            kind = ChangeKind.ENABLE if now_enabled else ChangeKind.DISABLE
            was: JSON = old_state is not None and old_state.enabled
            now: JSON = now_enabled
            if adopt and new_row is not None:
                kind, was, now = ChangeKind.ADOPT, ABSENT, new_row.version
            changes.append(
                Change(
                    client_id=cid,
                    module=module,
                    kind=kind,
                    old=was,
                    new=now,
                    stores=frozenset(stores),
                    informational=informational,
                )
            )
        if new_row is None:
            continue
        old_version = None if old_row is None else old_row.version
        if old_version != new_row.version and not adopt:
            changes.append(
                Change(
                    client_id=cid,
                    module=module,
                    kind=ChangeKind.VERSION,
                    old=old_version,
                    new=new_row.version,
                    stores=REGISTRY,
                    informational=informational,
                )
            )
        old_settings = {} if old_row is None else old_row.settings
        secret = sensitive.get(module, ())
        kind = ChangeKind.ADOPT if adopt else ChangeKind.SETTING
        for path, old, new in json_paths(old_settings, new_row.settings):
            flag = is_sensitive(path, secret) if secret else False
            changes.append(
                new_change(cid, module, kind, path, old, new, REGISTRY, informational, flag)
            )
    changes.extend(_override_changes(live, target, informational))
    return changes


def _renames(
    live: ClientLive,
    target: ClientLive,
    legacy_defaults: Sequence[str],
    renames: Renames,
    informational: bool,
) -> Iterator[Change]:
    """An old id the target's legacy list no longer holds, with its new id there instead."""
    if not renames:
        return
    raw_before = set(live.legacy_modules(legacy_defaults))
    raw_after = set(target.legacy_modules(legacy_defaults))
    for old in sorted(raw_before - raw_after):
        new = renames.get(old)
        if new is not None and new in raw_after:
            yield Change(
                client_id=live.client_id,
                module=new,
                kind=ChangeKind.RENAME,
                old=old,
                new=new,
                stores=LEGACY,
                informational=informational,
            )


def _override_changes(
    live: ClientLive, target: ClientLive, informational: bool
) -> Iterator[Change]:
    both_rows = live.legacy is not None and target.legacy is not None
    for key, column in OVERRIDE_COLUMNS.items():
        old = ABSENT if live.legacy is None else getattr(live.legacy, column)
        new = ABSENT if target.legacy is None else getattr(target.legacy, column)
        if not both_rows:  # a row created or deleted: its column defaults are no change
            old = ABSENT if old in (None, {}) else old
            new = ABSENT if new in (None, {}) else new
        for path, before, after in json_paths(old, new, (key,)):
            if before is ABSENT and after is ABSENT:
                continue
            yield Change(
                client_id=live.client_id,
                module=None,
                kind=ChangeKind.OVERRIDE,
                path=path,
                old=before,
                new=after,
                stores=LEGACY,
                informational=informational,
            )
