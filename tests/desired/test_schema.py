"""schema: the shipped JSON Schemas, error wording, sensitive paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.desired.schema import (
    file_validator,
    schema_dir,
    schema_text,
)
from reconciler.errors import ReconcilerError
from reconciler.model import FILE_KINDS
from reconciler.plan.mask import schema_sensitive_paths

REPO = Path(__file__).resolve().parents[2]


def test_schemas_come_from_the_top_level_schemas_folder() -> None:
    assert schema_dir().resolve() == (REPO / "schemas").resolve()
    for kind in FILE_KINDS:
        assert schema_text(kind) == (REPO / "schemas" / f"{kind}.schema.json").read_text()
        assert json.loads(schema_text(kind))["$schema"].endswith("/2020-12/schema")


def test_unknown_schema_kind_names_the_known_ones() -> None:
    with pytest.raises(ReconcilerError, match="unknown schema 'clients'") as caught:
        schema_text("clients")
    assert caught.value.hint == "choose one of: settings, module, profile, client, policy, plan"


def test_every_object_in_the_file_schemas_forbids_unknown_keys() -> None:
    def walk(node: object) -> list[str]:
        missing = []
        if isinstance(node, dict):
            closed = node.get("additionalProperties") is False
            if node.get("type") == "object" and "properties" in node and not closed:
                missing.append(json.dumps(node)[:60])
            for value in node.values():
                missing += walk(value)
        elif isinstance(node, list):
            for value in node:
                missing += walk(value)
        return missing

    for kind in FILE_KINDS:
        assert walk(json.loads(schema_text(kind))) == [], kind


def test_findings_point_at_keys_for_unknown_and_invalid_names() -> None:
    findings = file_validator("client").findings(
        {"client_id": "x", "modules": {"Forms": {}}, "nmae": "y"}
    )
    assert findings == [
        (("nmae",), True, "unknown key 'nmae'; did you mean 'name'?"),
        (("modules", "Forms"), True, "invalid key 'Forms': use lowercase letters, digits, '-' and '_'"),
    ]  # fmt: skip


def test_sensitive_paths_walk_nested_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "token": {"type": "string", "sensitive": True},
            "smtp": {"type": "object", "properties": {"password": {"sensitive": True},
                                                      "host": {"sensitive": False}}},
        },
    }  # fmt: skip
    assert schema_sensitive_paths(schema) == frozenset({("token",), ("smtp", "password")})
    assert schema_sensitive_paths({}) == frozenset()
