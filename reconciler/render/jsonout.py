"""Stable JSON on a stream: the one JSON encoder of every command's output (SPEC §7)."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from reconciler import jsontext

if TYPE_CHECKING:
    from reconciler.model import JSON


def write_json(data: JSON, out: IO[str]) -> None:
    """Stable JSON: sorted keys, two-space indent, UTF-8 kept, trailing newline."""
    out.write(jsontext.indented(data, default=_default) + "\n")


def _default(value: Any) -> JSON:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
