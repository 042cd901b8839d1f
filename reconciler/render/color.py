"""The one place that decides colour: only on a TTY, never with NO_COLOR (SPEC §7)."""

from __future__ import annotations

import os
from typing import IO

_CODES = {"red": "31", "green": "32", "yellow": "33", "cyan": "36", "bold": "1", "dim": "2"}


def enabled(stream: IO[str]) -> bool:
    if "NO_COLOR" in os.environ:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def paint(text: str, color: str, on: bool) -> str:
    if not on:
        return text
    return f"\x1b[{_CODES[color]}m{text}\x1b[0m"
