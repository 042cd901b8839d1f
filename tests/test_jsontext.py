"""jsontext writes exactly json.dumps' bytes, with orjson only where it is byte-identical."""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import jsontext
from reconciler.render.jsonout import _default


def indented(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=_default)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def assert_same(value: Any) -> None:
    assert jsontext.indented(value, default=_default) == indented(value)
    assert jsontext.canonical(value) == canonical(value)
    assert jsontext.canonical_bytes(value) == canonical(value).encode()


EVERY_CHARACTER = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)


class Color(StrEnum):
    RED = "red"


class Text(str):
    pass


def test_every_code_point_escapes_alike_in_values_and_keys() -> None:
    # orjson is used (plain), and writes every character as json does: \n \t \u001f escaped,
    # U+2028, U+0085, DEL and non-ASCII kept as they are.
    assert jsontext.plain(EVERY_CHARACTER)
    assert_same(EVERY_CHARACTER)
    keys = {EVERY_CHARACTER[i : i + 997]: i for i in range(0, len(EVERY_CHARACTER), 997)}
    assert_same(keys)  # sorted by code point in both
    assert_same([{"\u2028": "a\u2028b\x85c\r\n"}, "é😀\uffff\U0010ffff"])


FLOATS = [1e16, 0.1, 1.0, 1e-05, 1e22, 123456789.123, -0.0, 5e-324, 1.7976931348623157e308]


@pytest.mark.parametrize("value", [*FLOATS, float("nan"), float("inf"), float("-inf")])
def test_floats_go_to_json(value: float) -> None:
    # orjson writes 1e-05 as 0.00001 and NaN or infinity as null: never given a float.
    assert not jsontext.plain(value)
    assert not jsontext.plain({"a": [1, {"b": value}]})
    assert_same(value)
    assert_same({"a": [1, {"b": value}], "c": "x"})


def test_orjson_really_differs_on_floats() -> None:
    # Why floats are kept from orjson (if this ever passes, the rule could be relaxed).
    assert orjson.dumps(1e-05) != json.dumps(1e-05).encode()
    assert orjson.dumps(float("nan")) != json.dumps(float("nan")).encode()


@pytest.mark.parametrize(
    "value", [2**63 - 1, 2**64 - 1, -(2**63), 0, -1, True, False, None, "", [], {}, [[]], ()]
)
def test_plain_values(value: Any) -> None:
    assert jsontext.plain(value)
    assert_same(value)
    assert_same({"k": value, "l": [value, {"m": value}]})


@pytest.mark.parametrize("value", [2**64, -(2**63) - 1, 10**30, -(10**40)])
def test_ints_beyond_64_bits_go_to_json(value: int) -> None:
    assert not jsontext.plain(value)
    assert_same(value)
    assert_same({"k": [value]})
    # Even when a caller says the value is plain, orjson's refusal falls back to json.
    assert jsontext.indented([value], checked=True) == indented([value])
    assert jsontext.canonical([value], checked=True) == canonical([value])


@pytest.mark.parametrize("value", [{1: "a"}, {True: 1}, {None: 1}, {2.5: "x"}, {"a": {3: 4}}])
def test_non_str_keys_go_to_json(value: Any) -> None:
    assert not jsontext.plain(value)
    assert_same(value)


def test_mixed_keys_raise_as_json_does() -> None:
    with pytest.raises(TypeError):
        json.dumps({1: "a", "b": 2}, sort_keys=True)
    with pytest.raises(TypeError):
        jsontext.indented({1: "a", "b": 2})
    with pytest.raises(TypeError):
        jsontext.canonical({1: "a", "b": 2})


def test_lone_surrogates_go_to_json() -> None:
    value = {"k": "a\ud800b"}
    assert jsontext.plain(value)  # a str, but orjson refuses it: json writes it
    assert jsontext.indented(value) == indented(value)
    assert jsontext.canonical(value) == canonical(value)
    assert jsontext.indented(value, checked=True) == indented(value)


def test_subclasses_and_other_types_go_to_json() -> None:
    for value in (Color.RED, Text("x"), {"k": Color.RED}, [Text("y")]):
        assert not jsontext.plain(value)
        assert_same(value)
    when = {"at": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "day": date(2026, 1, 2)}
    assert not jsontext.plain(when)
    assert jsontext.indented(when, default=_default) == indented(when)
    with pytest.raises(TypeError):
        jsontext.indented(object())


def test_deep_nesting() -> None:
    for depth in (100, 150):  # 300 levels: orjson stops at 255, json writes the rest
        value: Any = "leaf"
        for _ in range(depth):
            value = {"a": [value]}
        assert jsontext.indented(value) == indented(value)
        assert jsontext.canonical(value) == canonical(value)
    too_deep: Any = []
    for _ in range(sys.getrecursionlimit() * 2):
        too_deep = [too_deep]
    with pytest.raises(RecursionError):
        json.dumps(too_deep, indent=2)
    with pytest.raises(RecursionError):
        jsontext.indented(too_deep)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES)
def test_any_json_value_writes_as_json_does(value: Any) -> None:
    assert_same(value)
