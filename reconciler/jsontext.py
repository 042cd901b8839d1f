"""JSON text exactly as the standard library writes it, faster where orjson writes the same bytes.

Three forms are used: canonical (`json.dumps(v, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)`, hashed into fingerprints) and indented (`json.dumps(v, indent=2,
sort_keys=True, ensure_ascii=False)`, every command's JSON output). Saved plans, fingerprints and
golden outputs depend on those bytes; the third, spaced (`json.dumps(v, sort_keys=True,
ensure_ascii=False)`, one value on a line of text), has separators orjson cannot write and uses
one reused json encoder. orjson is used only for values it is known to write
identically (tests/test_jsontext.py compares both encoders):

- str (any code point but lone surrogates, which orjson refuses), bool, None: the same bytes,
  escapes included (`\\n`, `\\u001f`, U+2028 and non-ASCII kept as is);
- int within 64 bits (orjson refuses bigger ones);
- list, tuple and dict with str keys (orjson refuses other keys; json would convert them).

Floats are never given to orjson: it writes `1e-05` as `0.00001` and NaN or infinity as `null`,
where json writes `1e-05`, `NaN`, `Infinity`. Neither are subclasses (an enum member, a str
subclass) or other types (json calls its `default` for them). Anything else, or orjson refusing
a value, falls back to json.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

_INDENTED = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
_CANONICAL = orjson.OPT_SORT_KEYS
# `json.dumps(v, sort_keys=True, ensure_ascii=False)` builds this encoder on every call.
_SPACED = json.JSONEncoder(ensure_ascii=False, sort_keys=True)
_INT_MIN = -(2**63)
_INT_END = 2**64


def plain(value: Any) -> bool:
    """True when orjson writes `value` byte for byte as json.dumps does (see the module doc)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        fits: bool = _INT_MIN <= value < _INT_END
        return fits
    if kind is list or kind is tuple:
        return all(map(plain, value))
    if kind is dict:
        return all(type(key) is str for key in value) and all(map(plain, value.values()))
    return False


def canonical(value: Any, *, checked: bool = False) -> str:
    """`json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
    `checked`: the caller knows `plain(value)` holds (skips the walk)."""
    fast = _orjson(value, _CANONICAL, checked)
    if fast is not None:
        return fast.decode()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(value: Any, *, checked: bool = False) -> bytes:
    """`canonical(value)` encoded as UTF-8 (what fingerprints hash)."""
    fast = _orjson(value, _CANONICAL, checked)
    if fast is not None:
        return fast
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def indented(value: Any, *, checked: bool = False, default: Any = None) -> str:
    """`json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=default)`.
    `checked`: the caller knows `plain(value)` holds (skips the walk)."""
    fast = _orjson(value, _INDENTED, checked)
    if fast is not None:
        return fast.decode()
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=default)


def spaced(value: Any) -> str:
    """`json.dumps(value, sort_keys=True, ensure_ascii=False)`: one value as a line shows it."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)  # what json writes for an int
    return _SPACED.encode(value)


def _orjson(value: Any, option: int, checked: bool) -> bytes | None:
    """orjson's bytes for a plain value; None when json must write it."""
    try:
        if not (checked or plain(value)):
            return None
        return orjson.dumps(value, option=option)
    except (TypeError, RecursionError):  # JSONEncodeError: a lone surrogate; or too deep
        return None
