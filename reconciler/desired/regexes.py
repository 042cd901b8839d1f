"""Refuse settings_schema patterns that can backtrack exponentially (SPEC §3: plain, safe data).

A module's settings_schema is run against every client's settings by `validate`; Python's `re`
cannot be interrupted, so a pattern like `(a+)+$` on forty `a`s would hang it. The check is
syntactic: an unbounded repeat whose body is, apart from optional parts, itself an unbounded
repeat (`(a+)+`, `(\\w+\\s?)*`). A mandatory separator (`([a-z]+\\.)+`) keeps a pattern safe.
"""

from __future__ import annotations

import re
import re._constants as sre_constants
import re._parser as sre_parser
from collections.abc import Iterator
from typing import Any

from reconciler.desired.yamlsafe import JsonPath

_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)
Finding = tuple[JsonPath, bool, str]


def risky_patterns(schema: Any, path: JsonPath = ()) -> Iterator[Finding]:
    """Findings for every `pattern` and `patternProperties` key of `schema` that may explode."""
    if isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from risky_patterns(item, (*path, i))
        return
    if not isinstance(schema, dict):
        return
    for key, value in schema.items():
        here = (*path, key)
        if key == "pattern" and isinstance(value, str) and _explosive(value):
            yield here, False, _reason(value)
        elif key == "patternProperties" and isinstance(value, dict):
            for pattern in value:
                if _explosive(pattern):
                    yield (*here, pattern), True, _reason(pattern)
        yield from risky_patterns(value, here)


def _reason(pattern: str) -> str:
    return (
        f"pattern {pattern!r} can take exponential time (a repeated group that is itself only "
        "a repeat); rewrite it, e.g. `(a+)+` as `a+`, or put a required separator in the group"
    )


def _explosive(pattern: str) -> bool:
    try:
        parsed = sre_parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):  # invalid: the metaschema reports it
        return False
    return _ambiguous(list(parsed))


def _ambiguous(items: list[tuple[Any, Any]]) -> bool:
    for op, av in items:
        if op in _REPEATS:
            _low, high, body = av
            if high == sre_constants.MAXREPEAT and _only_a_repeat(list(body)):
                return True
        if any(_ambiguous(list(child)) for child in _children(op, av)):
            return True
    return False


def _children(op: Any, av: Any) -> list[Any]:
    """The sub-patterns of one parsed node."""
    if op in _REPEATS:
        return [av[2]]
    if op is sre_constants.SUBPATTERN:
        return [av[3]]
    if op is sre_constants.BRANCH:
        return list(av[1])
    if op in (sre_constants.ASSERT, sre_constants.ASSERT_NOT):
        return [av[1]]
    if op is sre_constants.ATOMIC_GROUP:
        return [av]
    return []


def _only_a_repeat(items: list[tuple[Any, Any]]) -> bool:
    """The body is an unbounded repeat (perhaps in a group) and the rest may match nothing."""
    for i, (op, av) in enumerate(items):
        unbounded = op in _REPEATS and av[1] == sre_constants.MAXREPEAT
        grouped = op is sre_constants.SUBPATTERN and _only_a_repeat(list(av[3]))
        if unbounded or grouped:
            others = items[:i] + items[i + 1 :]
            if all(o in _REPEATS and a[0] == 0 for o, a in others):
                return True
    return False
