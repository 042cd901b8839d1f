"""Every rule fixture names its own kind of problem, never the catch-all (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.desired.load import load_desired
from reconciler.errors import ValidationFailed
from reconciler.render.rules import RULES, rule_of
from tests.desired.conftest import build_tree, overlay

RULE_FIXTURES = Path(__file__).parents[1] / "fixtures" / "desired" / "rules"

# fixture (tests/fixtures/desired/rules/<name>) -> the rule id of each of its problems
EXPECTED = {
    "anchor-alias": {"yaml-anchor"},
    "client-id-not-string": {"wrong-type"},
    "conflict": {"conflict"},
    "date-value": {"date-value"},
    "default-settings-invalid": {"settings-schema"},
    "dependency-cycle": {"dependency-cycle"},
    "dependency-range-invalid": {"invalid-version-range"},
    "dependency-range-unsatisfied": {"dependency-unsatisfied"},
    "dependency-unknown": {"unknown-module"},
    "duplicate-client-id": {"duplicate-client-id"},
    "duplicate-key": {"duplicate-key"},
    "empty-file": {"empty-file"},
    "file-too-large": {"file-too-large"},
    "invalid-settings-schema": {"invalid-settings-schema"},
    "invalid-utf8": {"not-utf8"},
    "merge-key": {"merge-key"},
    "missing-client-id": {"missing-key"},
    "missing-dependency": {"missing-dependency"},
    "module-id-mismatch": {"name-mismatch"},
    "profile-name-mismatch": {"name-mismatch"},
    "profile-settings-violation": {"settings-schema"},
    "settings-schema-violation": {"settings-schema"},
    "tag": {"yaml-tag"},
    "too-deep": {"too-deep"},
    "top-level-list": {"not-a-mapping"},
    "unknown-key": {"unknown-key"},
    "unknown-legacy-default": {"unknown-module"},
    "unknown-module": {"unknown-module"},
    "unknown-module-in-profile": {"unknown-module"},
    "unknown-profile": {"unknown-profile"},
    "version-range-unsatisfied": {"version-unsatisfied"},
    "wrong-type": {"wrong-type", "not-allowed-value"},
    "yaml-syntax": {"yaml-syntax"},
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.name for p in RULE_FIXTURES.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_problems_have_their_rule(name: str, tmp_path: Path) -> None:
    root = build_tree(tmp_path / "desired", overlay(RULE_FIXTURES / name))  # base + the rule
    with pytest.raises(ValidationFailed) as failed:
        load_desired(root)
    assert {rule_of(p).id for p in failed.value.problems} == EXPECTED[name]


def test_rule_ids_are_unique_and_stable_words() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    assert all(i.replace("-", "").isalnum() and i.islower() for i in ids)
