"""metacheck and secret references: whenever a fast check vouches, jsonschema agrees (issue 15).

- `certainly_valid(schema)` True: jsonschema's meta-schema check finds nothing;
- `Validator.findings_outside(x, refs)` [] by its fast path: jsonschema finds nothing outside
  the secret references at sensitive places.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_specifications
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from reconciler.desired.fastcheck import Compiler
from reconciler.desired.metacheck import META_KEYWORDS, certainly_valid
from reconciler.desired.schema import SECRET_REF_SCHEMA, Validator, settings_schema_findings
from reconciler.desired.secrets import ref_paths
from reconciler.model import is_secret_ref
from reconciler.plan.mask import schema_sensitive_paths
from tests.desired.conftest import EXAMPLE

META = Draft202012Validator(
    Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
)


def _meta_valid(schema: Any) -> bool:
    return not list(META.iter_errors(schema))


def test_meta_keywords_are_the_draft_2020_12_vocabularies() -> None:
    found: set[str] = set()
    for uri, resource in jsonschema_specifications.REGISTRY.items():
        if "draft/2020-12" in uri:
            found |= set(resource.contents.get("properties", {}))
    assert found == META_KEYWORDS


SCHEMA_VALUES = st.sampled_from(
    [True, False, 0, 3, -1, 2.5, "", "a", "string", "integer", "(", "^a+$", None]
) | st.lists(st.sampled_from(["string", "null", "a", 1, "string"]), max_size=3)
KEYWORDS = st.sampled_from(
    [
        "type", "properties", "required", "enum", "const", "minimum", "maxLength", "minItems",
        "pattern", "patternProperties", "additionalProperties", "items", "allOf", "anyOf",
        "oneOf", "not", "uniqueItems", "title", "default", "format", "deprecated", "$defs",
        "$ref", "if", "multipleOf", "dependentRequired", "sensitive", "x-anything",
    ]
)  # fmt: skip
schemas = st.recursive(
    st.booleans() | st.dictionaries(KEYWORDS, SCHEMA_VALUES, max_size=3),
    lambda children: st.dictionaries(
        KEYWORDS,
        children
        | st.lists(children, max_size=2)
        | st.dictionaries(st.sampled_from(["a", "b", "(", "^x"]), children, max_size=2)
        | SCHEMA_VALUES,
        max_size=4,
    ),
    max_leaves=10,
)


@settings(max_examples=1500, deadline=None)
@given(schema=schemas)
def test_certainly_valid_implies_the_meta_schema_agrees(schema: Any) -> None:
    if certainly_valid(schema):
        assert _meta_valid(schema), schema


@pytest.mark.parametrize(
    ("schema", "vouched"),
    [
        ({"type": "string", "sensitive": True, "x-ui": {"type": 5}}, True),  # no vocabulary
        ({"pattern": "("}, False),  # the format checker rejects it
        ({"type": ["string", "string"]}, False),
        ({"items": [{"type": "string"}]}, False),  # an array is draft 4-7, not 2020-12
        ({"maxLength": -1}, False),
        ({"$defs": {"a": {}}}, False),  # not modelled: jsonschema decides
        ({"minimum": True}, False),
    ],
)
def test_certainly_valid_cases(schema: Any, vouched: bool) -> None:
    assert certainly_valid(schema) is vouched
    assert (settings_schema_findings(schema) == []) is _meta_valid(schema)  # jsonschema decides


def test_example_settings_schemas_need_no_jsonschema() -> None:
    schemas = [
        yaml.safe_load(path.read_text(encoding="utf-8")).get("settings_schema", {})
        for path in sorted((EXAMPLE / "modules").glob("*.yaml"))
    ]
    assert schemas
    assert all(certainly_valid(schema) for schema in schemas)


@pytest.mark.parametrize(
    "value",
    [{"secret": {"env": "X"}}, {"secret": 1}, {"secret": None, "x": 1}, {}, [], "s", None],
    ids=json.dumps,
)
def test_secret_ref_schema_is_is_secret_ref(value: Any) -> None:
    assert Compiler().compile(SECRET_REF_SCHEMA)(value) is is_secret_ref(value)


SENSITIVE_SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "additionalProperties": False, "required": ["user"], "maxProperties": 3,
     "properties": {"user": {"type": "string"},
                    "password": {"type": "string", "minLength": 3, "sensitive": True},
                    "smtp": {"type": "object", "required": ["key"],
                             "properties": {"key": {"type": "string", "sensitive": True},
                                            "port": {"type": "integer"}}}}},
    {"properties": {"token": {"type": "string", "sensitive": True}},
     "anyOf": [{"properties": {"token": {"type": "string"}}}, {"required": ["other"]}]},
    {"properties": {"a": {"sensitive": True, "type": "object",
                          "properties": {"b": {"type": "integer", "sensitive": True}}}},
     "allOf": [{"properties": {"a": {"$ref": "#/properties/a"}}}]},
]  # fmt: skip
REF = {"secret": {"env": "X"}}
leaves = st.none() | st.integers(0, 3) | st.sampled_from(["", "ab", "abcd", "x"]) | st.just(REF)
nested = st.fixed_dictionaries({}, optional={"key": leaves, "port": leaves, "b": leaves})
members = {
    name: leaves | nested | st.lists(leaves, max_size=2)
    for name in ("password", "smtp", "token", "a", "other", "extra")
}
# Shaped like the schemas, so that references land at sensitive places often; or anything.
smtp = st.fixed_dictionaries({"key": leaves}, optional={"port": leaves})
settings_values = (
    st.fixed_dictionaries({"user": st.just("ab")}, optional={"password": leaves, "smtp": smtp})
    | st.fixed_dictionaries({"user": st.just("ab")}, optional=members)
    | st.fixed_dictionaries({}, optional={"user": leaves, **members})
    | st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=2)
            | st.dictionaries(
                st.sampled_from(["user", "password", "smtp", "key", "a", "b"]), children
            )
        ),
        max_leaves=10,
    )
)


@pytest.mark.parametrize("schema", SENSITIVE_SCHEMAS, ids=lambda s: json.dumps(s)[:40])
@settings(max_examples=500, deadline=None)
@given(instance=settings_values)
def test_findings_outside_refs_agree_with_jsonschema(schema: dict[str, Any], instance: Any) -> None:
    sensitive = schema_sensitive_paths(schema)
    validator = Validator(schema, sensitive=sensitive)
    refs = ref_paths(instance, sensitive)
    expected = [
        error
        for error in Draft202012Validator(schema).iter_errors(instance)
        if not any(tuple(error.absolute_path)[: len(r)] == tuple(r) for r in refs)
    ]
    if validator.fast_refs(instance) and refs:
        assert expected == [], (instance, [e.message for e in expected])
    if not expected:
        assert validator.findings_outside(instance, refs) == []


def test_a_reference_at_a_sensitive_place_needs_no_jsonschema() -> None:
    schema = SENSITIVE_SCHEMAS[0]
    validator = Validator(schema, sensitive=schema_sensitive_paths(schema))
    instance = {"user": "u", "password": REF, "smtp": {"key": REF}}
    refs = ref_paths(instance, validator.sensitive)
    assert refs == [("password",), ("smtp", "key")]
    assert not validator.fast(instance)
    assert validator.fast_refs(instance)
    assert validator._full is None
    assert validator.findings_outside(instance, refs) == []
    assert validator._full is None  # jsonschema never built
    assert validator.findings_outside({"password": REF}, [("password",)]) == [
        ((), False, "missing required key 'user'")
    ]


def test_example_clients_with_secrets_load_without_jsonschema(tmp_path: Path) -> None:
    """The example tree has secret references: resolving it builds no jsonschema validator."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from reconciler.desired.load import load_desired\n"
        f"load_desired({str(EXAMPLE)!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'referencing')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout == "[]\n"
