"""The example desired-state/ that the README's quick start runs on."""

from __future__ import annotations

import json
import re

import pytest

from reconciler.desired.load import load_desired
from tests.desired.conftest import EXAMPLE

MODELINE = re.compile(r"^# yaml-language-server: \$schema=(\S+)\n")
KIND_OF = {"reconciler.yaml": "settings", "modules": "module", "profiles": "profile", "clients": "client", "policies": "policy"}  # fmt: skip
FILES = sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*.yaml"))


@pytest.mark.parametrize("rel", FILES)
def test_every_file_starts_with_a_modeline_to_its_schema(rel: str) -> None:
    path = EXAMPLE / rel
    match = MODELINE.match(path.read_text(encoding="utf-8"))
    assert match is not None
    target = (path.parent / match.group(1)).resolve()
    kind = KIND_OF[rel.split("/")[0]]
    assert target.name == f"{kind}.schema.json"
    assert json.loads(target.read_text())["$schema"].endswith("2020-12/schema")


def test_example_clients_have_the_documented_ids_and_names() -> None:
    state = load_desired(EXAMPLE)
    assert {c.client_id: c.name for c in state.clients.values()} == {
        "0ee6a19a-b01d-4773-8a91-d6023ddab802": "acme-dental",
        "74089fb5-e782-426b-ad85-c7990bd21638": "bright-smiles",
        "e3189a23-3157-4c72-aacf-e644df46c05e": "northwind-clinic",
        "d18ea511-018e-4cde-86d2-c73949d0f77a": "harbor-physio",
        "36a85917-ad8f-4e4a-b855-3ab94d394f46": "summit-health",
        "c8d7d1d9-7646-4c30-989a-c4fea8f82535": "lakeside-vets",
    }
    for client in state.clients.values():
        assert client.profiles[0] == "foundation"
        assert {"theme", "consultation"} <= set(client.overrides)


def test_example_catalog_has_the_required_shape() -> None:
    catalog = load_desired(EXAMPLE).catalog
    assert {
        "analytics", "automation", "integrations", "support", "consultation", "forms",
        "documents", "questionnaire-engine", "consultation-generator", "email-integration",
        "theme-customizer", "analytics-basic",
    } <= set(catalog)  # fmt: skip
    assert ("questionnaire-engine", "^1.0.0") in {
        (d.id, d.version) for d in catalog["consultation-generator"].dependencies
    }
    assert "consultation-generator" in {d.id for d in catalog["email-integration"].dependencies}
    assert catalog["analytics"].conflicts == ("analytics-basic",)
    assert [m for m, d in catalog.items() if d.protected] == ["support"]


def test_bright_smiles_resolves_the_conflict_by_disabling_analytics() -> None:
    client = load_desired(EXAMPLE).clients["74089fb5-e782-426b-ad85-c7990bd21638"]
    assert client.modules["analytics"].enabled is False
    assert client.modules["analytics-basic"].enabled is True
