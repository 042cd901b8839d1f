"""catalog: npm-style ranges via semantic_version, dependency cycles reported once."""

from __future__ import annotations

import pytest

from reconciler.desired.catalog import npm_range, satisfies, stem
from reconciler.desired.load import load_desired
from reconciler.errors import ValidationFailed
from tests.desired.conftest import BASE, Tree


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ("1.4.0", "^1.0.0", True), ("2.0.0", "^1.0.0", False), ("0.9.2", "^0.9.0", True),
        ("0.10.0", "^0.9.0", False), ("2.0.1", "~2.0.0", True), ("2.1.0", "~2.0.0", False),
        ("1.5.0", ">=1.5.0 <2", True), ("2.0.0", ">=1.5.0 <2", False), ("3.1.2", "^2 || ^3", True),
        ("1.0.0", "1.x", True), ("1.0.0", "*", True), ("1.0.0-beta.1", "^1.0.0", False),
    ],
)  # fmt: skip
def test_npm_ranges(version: str, spec: str, ok: bool) -> None:
    assert satisfies(version, spec) is ok


@pytest.mark.parametrize("spec", ["~>1.0", "^^1", "1.0.0 - ", "banana"])
def test_invalid_ranges_are_none(spec: str) -> None:
    assert npm_range(spec) is None


def test_stem() -> None:
    assert stem("modules/nested/forms.yml") == "forms"


def test_a_three_module_cycle_is_reported_once(tree: Tree) -> None:
    dep = "id: {0}\nname: {0}\nversion: 1.0.0\ndependencies:\n  - {{id: {1}}}\n"
    root = tree({
        "modules/c1.yaml": dep.format("c1", "c2"),
        "modules/c2.yaml": dep.format("c2", "c3"),
        "modules/c3.yaml": dep.format("c3", "c1"),
        "modules/self.yaml": dep.format("self", "self"),
    })  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        load_desired(root)
    assert [str(p) for p in caught.value.problems] == [
        "modules/c1.yaml:5:10: $.dependencies[0].id: dependency cycle: c1 -> c2 -> c3 -> c1",
        "modules/self.yaml:5:10: $.dependencies[0].id: dependency cycle: self -> self",
    ]


def test_module_definitions_carry_every_field() -> None:
    catalog = load_desired(BASE).catalog
    assert catalog["gamma"].to_json() == {
        "id": "gamma",
        "name": "Gamma",
        "version": "0.3.0",
        "description": "",
        "capabilities": [],
        "dependencies": [{"id": "beta", "version": ">=2", "optional": True}],
        "conflicts": ["delta"],
        "settings_schema": {},
        "default_settings": {},
        "protected": False,
    }
    assert catalog["alpha"].sensitive_paths == frozenset({("mail", "password")})


def test_a_module_defined_twice_is_reported(tree: Tree) -> None:
    root = tree({"modules/nested/delta.yml": "id: delta\nname: D\nversion: 1.0.0\n"})
    with pytest.raises(ValidationFailed) as caught:
        load_desired(root)
    assert [str(p) for p in caught.value.problems] == [
        "modules/nested/delta.yml:1:1: $: module 'delta' is also defined in modules/delta.yaml"
    ]


def test_replaces_problems_are_reported_at_the_item(tree: Tree) -> None:
    module = "id: {0}\nname: {0}\nversion: 1.0.0\nreplaces: [{1}]\n"
    root = tree({
        "modules/new.yaml": module.format("new", "old"),
        "modules/other.yaml": module.format("other", "old"),
        "modules/shadow.yaml": module.format("shadow", "new"),
    })  # fmt: skip
    with pytest.raises(ValidationFailed) as caught:
        load_desired(root)
    assert [str(p) for p in caught.value.problems] == [
        "modules/other.yaml:4:12: $.replaces[0]: legacy id 'old' is also replaced by new "
        "(modules/new.yaml); an old id maps to one module",
        "modules/shadow.yaml:4:12: $.replaces[0]: 'new' is a module of the catalog "
        "(modules/new.yaml); only a legacy id that no module file defines can be replaced",
    ]
