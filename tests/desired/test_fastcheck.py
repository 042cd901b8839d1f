"""fastcheck: whenever the pre-check says valid, jsonschema agrees (it may only be unsure)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reconciler.desired.fastcheck import VALIDATING, Compiler
from reconciler.desired.schema import _documents, _registry, file_validator
from reconciler.model import FILE_KINDS
from tests.desired.conftest import EXAMPLE

SETTINGS_SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "additionalProperties": False, "required": ["n"],
     "properties": {"n": {"type": "integer", "minimum": 1, "exclusiveMaximum": 10},
                    "s": {"type": "string", "minLength": 2, "maxLength": 4, "pattern": "^a"},
                    "e": {"enum": ["x", "y"]}, "c": {"const": "k"},
                    "l": {"type": "array", "items": {"type": "number"}, "maxItems": 2,
                          "uniqueItems": True},
                    "o": {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"},
                          "patternProperties": {"^p": {"type": "boolean"}},
                          "additionalProperties": {"type": "null"}, "maxProperties": 2}}},
    {"anyOf": [{"type": "string"}, {"type": "integer"}], "allOf": [{"not": {"const": 3}}]},
    {"type": ["integer", "null"], "minimum": 0, "maximum": 2.5},
    {"enum": [1, True, None]},
    {"oneOf": [{"type": "integer"}, {"type": "number"}]},
    {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object", "properties": {
        "next": {"$ref": "#/$defs/node"}, "v": {"type": "integer"}}}}},
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 12) | st.sampled_from([1.0, 2.5, -0.5, 3.0])
    | st.sampled_from(["", "a", "ab", "abc", "abcde", "x", "y", "k", "p1", "Q"]),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.sampled_from(["n", "s", "e", "c", "l", "o", "p", "pq", "Z", "next", "v"]),
                      children, max_size=4),
    max_leaves=12,
)  # fmt: skip


@pytest.mark.parametrize("schema", SETTINGS_SCHEMAS, ids=lambda s: json.dumps(s)[:40])
@settings(max_examples=300, deadline=None)
@given(instance=json_values)
def test_fast_valid_implies_jsonschema_valid(schema: dict[str, Any], instance: Any) -> None:
    fast = Compiler().compile(schema)
    if fast(instance):
        assert Draft202012Validator(schema).is_valid(instance)


def _example_clients() -> list[Any]:
    import yaml

    return [
        yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((EXAMPLE / "clients").glob("*.yaml"))
    ]


@settings(max_examples=300, deadline=None)
@given(instance=json_values)
def test_file_schemas_fast_valid_implies_jsonschema_valid(instance: Any) -> None:
    for name, doc in _documents().items():
        fast = Compiler(_documents()).compile(doc)
        if fast(instance):
            assert Draft202012Validator(doc, registry=_registry()).is_valid(instance), name


def test_fast_check_vouches_for_the_example_clients() -> None:
    check = file_validator("client").fast
    assert all(check(client) for client in _example_clients())


@pytest.mark.parametrize(
    ("schema", "instance", "fast"),
    [
        ({"type": "integer"}, True, False),  # a boolean is not an integer in JSON Schema
        ({"type": "integer"}, 2.0, True),  # but 2.0 is
        ({"type": "number"}, False, False),
        ({"minimum": 3}, "text", True),  # bounds ignore non-numbers
        ({"multipleOf": 2}, 4, False),  # not modelled: unsure, jsonschema decides
        ({"enum": [1]}, True, False),  # JSON equality is jsonschema's job
        ({"type": "string", "format": "email"}, "nope", True),  # format is an annotation
        ({"$ref": "https://example.com/remote.json"}, 1, False),
        (True, {"any": "thing"}, True),
        (False, 1, False),
    ],
)
def test_fast_check_cases(schema: Any, instance: Any, fast: bool) -> None:
    assert Compiler().compile(schema)(instance) is fast


def test_schema_files_are_valid_draft_2020_12() -> None:
    for doc in _documents().values():
        Draft202012Validator.check_schema(doc)
    shipped = {p.name for p in (Path(__file__).parents[2] / "schemas").glob("*.json")}
    assert {f"{kind}.schema.json" for kind in FILE_KINDS} <= shipped


def test_validating_keywords_are_jsonschemas() -> None:
    """fastcheck lists them literally (no jsonschema import): the same as jsonschema's."""
    assert frozenset(Draft202012Validator.VALIDATORS) - {"format"} == VALIDATING
