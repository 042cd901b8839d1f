"""Mask sensitive settings values for display: every format, never logged (SPEC §5, STYLE §6)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from reconciler.model import JSON, ClientLive, ModuleDef, RegistryModule
from reconciler.plan.model import SENSITIVE

# Used only when no catalog says what is sensitive (e.g. a module unknown to desired state).
_SECRET_LIKE = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential|private[_-]?key", re.I)


def mask_settings(
    settings: Mapping[str, JSON], sensitive_paths: Collection[tuple[str, ...]]
) -> dict[str, JSON]:
    """A copy of `settings` with the value at every sensitive path replaced by "(sensitive)"."""
    return _mask(settings, {tuple(p) for p in sensitive_paths if p})


def _mask(node: Mapping[str, JSON], paths: set[tuple[str, ...]]) -> dict[str, JSON]:
    result: dict[str, JSON] = {}
    for key, value in node.items():
        if (key,) in paths:
            result[key] = SENSITIVE
            continue
        below = {p[1:] for p in paths if p[0] == key and len(p) > 1}
        result[key] = _mask_value(value, below) if below else value
    return result


def _mask_value(value: JSON, paths: set[tuple[str, ...]]) -> JSON:
    if isinstance(value, Mapping):
        return _mask(value, paths)
    if isinstance(value, list):  # a path through a list applies to each of its objects
        return [_mask_value(item, paths) for item in value]
    return value


def looks_secret(key: str) -> bool:
    """True for a key named like a secret (password, token, api_key ...)."""
    return _SECRET_LIKE.search(key) is not None


def mask_secret_like(settings: Mapping[str, JSON]) -> dict[str, JSON]:
    """Fallback without a catalog: mask values whose key looks like a secret, at any depth."""
    result: dict[str, JSON] = {}
    for key, value in settings.items():
        if _SECRET_LIKE.search(str(key)):
            result[key] = SENSITIVE
        elif isinstance(value, Mapping):
            result[key] = mask_secret_like(value)
        elif isinstance(value, list):
            result[key] = [mask_secret_like(v) if isinstance(v, Mapping) else v for v in value]
        else:
            result[key] = value
    return result


def secret_like_paths(settings: JSON, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The paths `mask_secret_like` masks: secret-looking keys at any depth (through lists)."""
    found: set[tuple[str, ...]] = set()
    if isinstance(settings, list):
        for item in settings:
            found |= secret_like_paths(item, prefix)
    elif isinstance(settings, Mapping):
        for key, value in settings.items():
            path = (*prefix, str(key))
            if _SECRET_LIKE.search(str(key)):
                found.add(path)
            else:
                found |= secret_like_paths(value, path)
    return found


def schema_sensitive_paths(schema: Any, prefix: tuple[str, ...] = ()) -> frozenset[tuple[str, ...]]:
    """JSON paths of settings whose schema property has `sensitive: true`, at any depth."""
    found: set[tuple[str, ...]] = set()
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if isinstance(properties, dict):  # anything else is an invalid schema, reported elsewhere
        for name, sub in properties.items():
            if not isinstance(sub, dict):
                continue
            path = (*prefix, str(name))
            if sub.get("sensitive") is True:
                found.add(path)
            found |= schema_sensitive_paths(sub, path)
    return frozenset(found)


def mask_module_settings(
    module: str, settings: Mapping[str, JSON], sensitive: Mapping[str, Collection[tuple[str, ...]]]
) -> dict[str, JSON]:
    """A module's settings masked by its known sensitive paths; a module no catalog knows gets
    its secret-like keys masked (SPEC §4)."""
    if module in sensitive:
        return mask_settings(settings, sensitive[module])
    return mask_secret_like(settings)


class Masker:
    """Replaces sensitive settings in a snapshot with `(sensitive)` before it is shown."""

    def __init__(self, sensitive: Mapping[str, Collection[tuple[str, ...]]]) -> None:
        self.sensitive = sensitive

    def __call__(self, live: ClientLive) -> ClientLive:
        registry = {
            m: RegistryModule(
                enabled=row.enabled,
                version=row.version,
                settings=mask_module_settings(m, row.settings, self.sensitive),
            )
            for m, row in live.registry.items()
        }
        return ClientLive(client_id=live.client_id, legacy=live.legacy, registry=registry)


def with_catalog(
    stored: Mapping[str, frozenset[tuple[str, ...]]], catalog: Mapping[str, ModuleDef]
) -> dict[str, frozenset[tuple[str, ...]]]:
    """Sensitive paths of the store's catalog joined with a desired catalog's: a setting marked
    sensitive in either is masked."""
    merged = dict(stored)
    for module in catalog.values():
        merged[module.id] = merged.get(module.id, frozenset()) | module.sensitive_paths
    return merged


def with_recorded(
    current: Mapping[str, Collection[tuple[str, ...]]],
    recorded: Mapping[str, Collection[tuple[str, ...]]],
) -> dict[str, frozenset[tuple[str, ...]]]:
    """Today's sensitive paths joined with those a history snapshot recorded: never less."""
    merged = {m: frozenset(p) for m, p in current.items()}
    for module, paths in recorded.items():
        merged[module] = merged.get(module, frozenset()) | frozenset(paths)
    return merged
