"""Resolution: settings defaults -> profiles in order -> client file; dicts merge, lists replace."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.desired.load import load_desired
from reconciler.model import ClientDesired, DesiredModule, deep_merge
from tests.desired.conftest import BASE, Tree, build_tree

ONE = "11111111-1111-4111-8111-111111111111"
TWO = "22222222-2222-4222-8222-222222222222"


def client(root: Any, client_id: str = ONE) -> ClientDesired:
    return load_desired(root).clients[client_id]


def test_layers_apply_in_order_and_dicts_merge_deeply() -> None:
    one = client(BASE)
    # alpha: default_settings <- defaults (level 2) <- plus (level 3, tags [plus]) <- one (mail).
    assert one.modules["alpha"] == DesiredModule(
        enabled=True,
        version="1.2.3",
        settings={"level": 3, "tags": ["plus"], "mail": {"host": "localhost", "password": "not-a-secret"}},
        strategy=None,
    )  # fmt: skip
    assert sorted(one.modules) == ["alpha", "beta", "gamma"]
    assert one.profiles == ("basic", "plus")


def test_lists_replace_and_overrides_merge_only_what_layers_mention() -> None:
    one = client(BASE)
    assert one.overrides == {
        "theme": {"font": "Inter", "colors": ["green"], "logo": "one.png"},
        "consultation": {"length": 30},
    }
    two = client(BASE, TWO)
    assert two.overrides == {"theme": {"font": "Inter", "colors": ["red", "blue"]}}


def test_strategy_comes_from_the_client_else_settings() -> None:
    assert client(BASE).strategy == "merge"
    two = client(BASE, TWO)
    assert two.strategy == "replace"
    assert two.modules["delta"].strategy == "preserve"
    assert two.modules["alpha"].strategy is None


def test_the_client_file_wins_over_profiles_and_defaults(tree: Tree) -> None:
    root = tree({
        "clients/one.yaml": (
            f"client_id: {ONE}\nprofiles: [basic, plus]\n"
            "modules:\n  alpha:\n    settings: {level: 5, tags: []}\n  gamma: {enabled: false}\n"
            "overrides:\n  theme: {colors: [black]}\n"
        ),
    })  # fmt: skip
    one = client(root)
    assert one.modules["alpha"].settings == {"level": 5, "tags": [], "mail": {"host": "localhost"}}
    assert one.modules["gamma"].enabled is False
    assert one.overrides["theme"] == {"font": "Inter", "colors": ["black"]}


def test_a_later_profile_wins_over_an_earlier_one(tree: Tree) -> None:
    root = tree({
        "profiles/low.yaml": "name: low\nmodules:\n  alpha: {settings: {level: 4}}\n",
        "clients/one.yaml": f"client_id: {ONE}\nprofiles: [plus, low]\n",
    })  # fmt: skip
    assert client(root).modules["alpha"].settings["level"] == 4


def test_a_module_without_settings_gets_its_default_settings() -> None:
    assert client(BASE).modules["beta"] == DesiredModule(enabled=True, version="2.0.0")


def test_resolution_is_deterministic() -> None:
    assert client(BASE).fingerprint() == client(BASE).fingerprint()


# Control characters are YAML-hostile by design (tested in test_yamlsafe); leave them out here.
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=3)
)
json_obj = st.recursive(
    st.dictionaries(st.sampled_from("abc"), json_leaf | st.lists(json_leaf, max_size=2), max_size=3),
    lambda children: st.dictionaries(st.sampled_from("abc"), children, max_size=3),
    max_leaves=8,
)  # fmt: skip


@settings(max_examples=40, deadline=None)
@given(defaults=json_obj, profile=json_obj, own=json_obj)
def test_overrides_resolve_as_a_fold_of_deep_merge(
    defaults: dict[str, Any], profile: dict[str, Any], own: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = build_tree(Path(tmp), {
        "reconciler.yaml": "defaults:\n  overrides:\n    catalog: " + json.dumps(defaults, ensure_ascii=False) + "\n",
        "profiles/p.yaml": "name: p\noverrides:\n  catalog: " + json.dumps(profile, ensure_ascii=False) + "\n",
        "clients/one.yaml": f"client_id: {ONE}\nprofiles: [p]\noverrides:\n  catalog: {json.dumps(own, ensure_ascii=False)}\n",
        "clients/two.yaml": f"client_id: {TWO}\n",
        })  # fmt: skip
        resolved = client(root).overrides["catalog"]
    assert resolved == deep_merge(deep_merge(defaults, profile), own)
