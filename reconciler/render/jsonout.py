"""Stable JSON on a stream: the one JSON encoder of every command's output (SPEC §7)."""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconciler.model import JSON


def write_json(data: JSON, out: IO[str]) -> None:
    """Stable JSON: sorted keys, two-space indent, UTF-8 kept, trailing newline."""
    out.write(
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=_default) + "\n"
    )


def _default(value: Any) -> JSON:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
