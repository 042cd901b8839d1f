"""scalars: YAML 1.1 implicit typing of plain scalars, JSON values only."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.desired.scalars import NotPlain, resolve


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), ("0", 0), ("-3", -3), ("017", 15), ("0x1f", 31), ("1_000", 1000),
     ("1.5", 1.5), ("1e3", "1e3"), ("1.0e+3", 1000.0), ("yes", True), ("Off", False),
     ("~", None), ("", None), ("NULL", None), ("yellow", "yellow"), ("=", "="),
     ("+12", 12), ("1.2.3", "1.2.3"), ("^1.0.0", "^1.0.0"), ("12ab", "12ab")],
)  # fmt: skip
def test_resolve(text: str, value: Any) -> None:
    resolved = resolve(text)
    assert resolved == value
    assert type(resolved) is type(value)


@pytest.mark.parametrize(
    ("text", "soft"),
    [("2024-01-31", True), ("2024-01-31 10:00:00", True), (".nan", True), ("-.inf", True),
     ("<<", False)],
)  # fmt: skip
def test_values_without_a_json_form_raise(text: str, soft: bool) -> None:
    with pytest.raises(NotPlain) as caught:
        resolve(text)
    assert caught.value.soft is soft
