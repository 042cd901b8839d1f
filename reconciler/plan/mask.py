"""Mask sensitive settings values for display: every format, never logged (SPEC §5, STYLE §6)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

from reconciler.model import JSON
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
