"""yamlsafe: plain data only, YAML 1.1 typing as PyYAML's SafeLoader, positions on demand."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired.yamlsafe import json_path, parse


def ok(text: str) -> Any:
    yf, problems = parse("f.yaml", text.encode())
    assert problems == []
    assert yf is not None
    return yf.data


def errors(text: str | bytes) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    return [str(p) for p in parse("f.yaml", raw)[1]]


def test_scalars_are_typed_like_safe_load() -> None:
    text = (
        "a: 1\nb: -7\nc: 0x1f\nd: 017\ne: 1_000\nf: 1.5\ng: 1e3\nh: yes\ni: Off\nj: ~\nk: null\n"
        "l: ''\nm: '1'\nn: \"true\"\no: plain text\nq: +12\nr: .5\ns: |\n  block\n"
    )
    assert ok(text) == yaml.load(text, Loader=yaml.CSafeLoader)


# YAML folds line-break characters such as NEL (\x85) in plain scalars; keep them out.
texts = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(texts, json_values, max_size=5))
def test_any_dumped_json_document_parses_back_to_itself(data: dict[str, Any]) -> None:
    for flow in (False, True):
        text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
        yf, problems = parse("f.yaml", text.encode())
        if not data:
            continue  # `{}` is a mapping; an empty dict dumps as "{}\n"
        assert problems == []
        assert yf is not None
        assert yf.data == yaml.load(text, Loader=yaml.CSafeLoader) == data


def test_an_equals_sign_is_a_plain_string() -> None:
    assert ok("a: =\n") == {"a": "="}  # SafeLoader has no constructor for YAML 1.1's `=`


def test_empty_mapping_document_is_a_mapping() -> None:
    assert ok("{}\n") == {}


def test_duplicate_keys_at_every_depth_keep_the_data() -> None:
    yf, problems = parse("f.yaml", b"a: 1\nb:\n  - c: 1\n    c: 2\na: 3\n")
    assert [str(p) for p in problems] == [
        "f.yaml:4:5: $.b[0].c: duplicate key 'c'",
        "f.yaml:5:1: $.a: duplicate key 'a'",
    ]
    assert yf is not None
    assert yf.data == {"a": 3, "b": [{"c": 2}]}


def test_keys_must_be_strings() -> None:
    assert errors("1: a\nnull: b\ntrue: c\n") == [
        "f.yaml:1:1: $.1: key 1 is not a string; quote it",
        "f.yaml:2:1: $.null: key null is not a string; quote it",
        "f.yaml:3:1: $.true: key true is not a string; quote it",
    ]


def test_complex_keys_are_refused() -> None:
    assert errors("? [a, b]\n: c\n") == ["f.yaml:1:3: $: complex mapping keys are not allowed"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: !custom x\n", "f.yaml:1:4: $.a: tag !custom: tags are not allowed, only plain data"),
        ("a: !!str 1\n", "f.yaml:1:4: $.a: tag tag:yaml.org,2002:str: tags are not allowed, only plain data"),
        ("a: !!binary aGk=\n", "f.yaml:1:4: $.a: tag tag:yaml.org,2002:binary: tags are not allowed, only plain data"),
        ("a: !!set {x}\n", "f.yaml:1:4: $.a: tag tag:yaml.org,2002:set: tags are not allowed, only plain data"),
        ("a: &x 1\n", "f.yaml:1:4: $.a: anchor &x: anchors and aliases are not allowed"),
        ("a: 1\n<<: {b: 2}\n", "f.yaml:2:1: $['<<']: merge keys (<<) are not allowed; write the keys out"),
        ("a: 1\n---\nb: 2\n", "f.yaml:2:1: $: more than one YAML document; keep one per file"),
        ("a: [1\n", "f.yaml:2:1: $: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)"),
        ("a: \x07\n", "f.yaml:1:4: $: character #x0007 is not allowed in YAML (control characters are not allowed)"),
        ("- 1\n", "f.yaml:1:1: $: top level is a list; expected a mapping"),
        ("just text\n", "f.yaml:1:1: $: top level is a str; expected a mapping"),
    ],
)  # fmt: skip
def test_anything_but_plain_data_is_one_problem(text: str, problem: str) -> None:
    assert errors(text) == [problem]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a: 2024-01-31\n", "f.yaml:1:4: $.a: 2024-01-31 would be read as a date/time, which is not plain data; quote it"),
        ("a: .nan\n", "f.yaml:1:4: $.a: .nan is not a JSON number; quote it for a string"),
        ("a: [-.inf]\n", "f.yaml:1:5: $.a[0]: -.inf is not a JSON number; quote it for a string"),
    ],
)  # fmt: skip
def test_values_json_cannot_hold_are_refused(text: str, problem: str) -> None:
    assert errors(text) == [problem]


def test_size_limit_is_checked_before_parsing() -> None:
    assert errors_with_limit(b"a: " + b"x" * 100, 50) == [
        "f.yaml:1:1: $: file is 103 bytes, over the limit of 50 (limits.max_file_bytes)"
    ]


def errors_with_limit(raw: bytes, limit: int) -> list[str]:
    return [str(p) for p in parse("f.yaml", raw, max_bytes=limit)[1]]


def test_invalid_utf8_position_counts_characters_before_it() -> None:
    assert errors(b"a: 1\nbb: \xc3\xa9\xff\n") == [
        "f.yaml:2:6: $: not valid UTF-8 (byte 0xff); save the file as UTF-8"
    ]


def test_locate_points_at_keys_values_and_items() -> None:
    yf, _ = parse("f.yaml", "# head\nname: x\nlist:\n  - a\n  - {é: 1, b: [2, 3]}\n".encode())
    assert yf is not None
    assert str(yf.locate(())) == "f.yaml:2:1"
    assert str(yf.locate(("name",), key=True)) == "f.yaml:2:1"
    assert str(yf.locate(("name",))) == "f.yaml:2:7"
    assert str(yf.locate(("list", 0))) == "f.yaml:4:5"
    assert str(yf.locate(("list", 1, "é"), key=True)) == "f.yaml:5:6"
    assert str(yf.locate(("list", 1, "b", 1))) == "f.yaml:5:19"
    # A path that does not exist falls back to its nearest existing parent's value.
    assert str(yf.locate(("list", 1, "missing"), key=True)) == "f.yaml:5:5"


def test_deep_nesting_stops_at_64_levels() -> None:
    assert errors("a: " + "[" * 63 + "]" * 63 + "\n") == []
    assert errors("a: " + "[" * 64 + "]" * 64 + "\n") == [
        "f.yaml:1:67: $: nesting deeper than 64 levels is not allowed"
    ]


@pytest.mark.parametrize(
    ("path", "text"),
    [((), "$"), (("a", 0, "b"), "$.a[0].b"), (("consultation-generator",), "$.consultation-generator"),
     (("a.b",), "$['a.b']"), (("",), "$['']")],
)  # fmt: skip
def test_json_path(path: tuple[str | int, ...], text: str) -> None:
    assert json_path(path) == text


def test_huge_integers_and_floats_stay_exact() -> None:
    data = ok("a: 123456789012345678901234567890\nb: 6.02e+23\n")
    assert data["a"] == 123456789012345678901234567890
    assert math.isclose(data["b"], 6.02e23)


def test_libyaml_parser_is_used_when_pyyaml_has_it() -> None:
    """The C parser is the fast path (and the benchmark's floor); a silent fallback to the pure
    Python parser would make every load several times slower."""
    from reconciler.desired import yamlsafe

    if not yaml.__with_libyaml__:
        pytest.skip("this PyYAML was built without libyaml")
    assert yamlsafe._Parser.__module__ == "yaml._yaml"
    assert yamlsafe._Parser.__name__ == "CParser"
