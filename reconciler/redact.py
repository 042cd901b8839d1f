"""Keep passwords out of text: store URLs are shown with `***` (SPEC §4, non-negotiable 6)."""

from __future__ import annotations

import re

_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?=@)")


def redact_urls(text: str) -> str:
    """Replace the password of every URL in `text` with `***`."""
    return _URL_PASSWORD.sub(lambda m: m.group("head") + "***", text)
