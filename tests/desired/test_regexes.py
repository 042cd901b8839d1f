"""reconciler/desired/regexes.py: settings_schema patterns that could backtrack forever."""

from __future__ import annotations

import pytest

from reconciler.desired.regexes import risky_patterns


@pytest.mark.parametrize(
    "pattern",
    [r"^(a+)+$", r"(\w+\s?)*", r"(a*)*", r"((ab)*)+", r"(?:x|(y+)+)z", r"((a+)b?)+", r"(?=(a+)+)b"],
)
def test_a_repeat_of_only_a_repeat_is_refused(pattern: str) -> None:
    findings = list(risky_patterns({"properties": {"code": {"pattern": pattern}}}))
    assert [(path, key) for path, key, _ in findings] == [
        (("properties", "code", "pattern"), False)
    ]
    assert findings[0][2].startswith(f"pattern {pattern!r} can take exponential time")


@pytest.mark.parametrize(
    "pattern",
    [
        r"^[^@ ]+@[^@ ]+$",
        r"([a-z0-9-]+\.)+[a-z]+",
        r"^(\d{1,3}\.){3}\d{1,3}$",
        r"(a|b)+",
        r"(x(a+)y)+",
        r"^[a-z0-9][a-z0-9_-]*$",
        "(unclosed",  # invalid: the metaschema's regex format reports it
    ],
)
def test_patterns_with_a_required_separator_are_kept(pattern: str) -> None:
    assert list(risky_patterns({"pattern": pattern, "items": [{"pattern": pattern}]})) == []


def test_pattern_properties_keys_are_checked_at_the_key() -> None:
    schema = {"type": "object", "patternProperties": {"^(a+)+$": {"type": "string"}}}
    ((path, key, _),) = risky_patterns(schema)
    assert (path, key) == (("patternProperties", "^(a+)+$"), True)
