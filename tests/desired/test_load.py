"""load_desired: every rule reported with file:line:col, all problems at once, hostile inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.desired.load import load_desired
from reconciler.desired.source import WorkingTree
from reconciler.errors import ReconcilerError, ValidationFailed
from tests.desired.conftest import BASE, EXAMPLE, FIXTURES, RULES, Tree, overlay

RULE_NAMES = sorted(p.name for p in RULES.iterdir())


def problems_of(root: Path | str) -> list[str]:
    with pytest.raises(ValidationFailed) as caught:
        load_desired(root)
    return [str(p) for p in caught.value.problems]


def test_base_fixture_is_valid() -> None:
    state = load_desired(BASE)
    assert sorted(c.name for c in state.clients.values()) == ["one", "two"]
    assert sorted(state.catalog) == ["alpha", "beta", "delta", "gamma"]


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_each_rule_reports_its_problem_at_the_exact_position(tree: Tree, rule: str) -> None:
    root = tree(overlay(RULES / rule))
    expected = (RULES / rule / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert problems_of(root) == expected


def test_rule_fixtures_cover_every_rule_of_the_spec() -> None:
    wanted = {
        "yaml-syntax", "duplicate-key", "invalid-utf8", "tag", "anchor-alias", "merge-key",
        "empty-file", "top-level-list", "client-id-not-string", "unknown-key", "wrong-type",
        "duplicate-client-id", "unknown-module", "unknown-profile", "missing-dependency",
        "dependency-range-unsatisfied", "dependency-cycle", "conflict",
        "settings-schema-violation", "version-range-unsatisfied", "too-deep", "file-too-large",
    }  # fmt: skip
    assert wanted <= set(RULE_NAMES)


def test_many_errors_are_all_reported_sorted_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        load_desired(FIXTURES / "many-errors")
    expected = (FIXTURES / "many-errors.expected.txt").read_text(encoding="utf-8").splitlines()
    assert [str(p) for p in caught.value.problems] == expected[:-1]
    assert caught.value.message == "16 problems in desired state"
    assert expected[-1] == "16 problems in 9 files"
    assert len({p.reason.split(":")[0].split(" ")[0] for p in caught.value.problems}) >= 10
    assert caught.value.counts == {"clients": 5, "modules": 5, "profiles": 2}  # type: ignore[attr-defined]


def test_the_example_desired_state_is_valid() -> None:
    state = load_desired(EXAMPLE)
    assert len(state.clients) == 6
    assert len(state.catalog) >= 12
    assert sorted(state.profiles) == ["enterprise", "foundation", "growth"]
    assert state.settings.legacy_defaults == ("analytics", "automation", "integrations", "support")
    assert state.catalog["support"].protected is True
    assert state.catalog["email-integration"].sensitive_paths == frozenset(
        {("smtp", "smtp_password")}
    )
    assert state.catalog["integrations"].sensitive_paths == frozenset({("api_key",)})


def test_only_client_files_resolves_just_those(tree: Tree) -> None:
    root = tree({"clients/broken.yaml": "client_id: 7\n"})
    state = load_desired(root, only_client_files=["clients/two.yaml"])
    assert list(state.clients) == ["22222222-2222-4222-8222-222222222222"]


def test_only_client_files_still_checks_the_catalog(tree: Tree) -> None:
    root = tree({"modules/beta.yaml": "id: beta\nname: B\nversion: 2.0.0\nconflicts: [nope]\n"})
    with pytest.raises(ValidationFailed) as caught:
        load_desired(root, only_client_files=["clients/two.yaml"])
    assert [str(p) for p in caught.value.problems] == [
        "modules/beta.yaml:4:13: $.conflicts[0]: unknown module 'nope' (no modules/nope.yaml)"
    ]


def test_a_working_tree_source_works_like_a_path() -> None:
    assert load_desired(WorkingTree(BASE)).clients == load_desired(str(BASE)).clients


def test_missing_directory_is_a_plain_error(tmp_path: Path) -> None:
    with pytest.raises(ReconcilerError, match="desired-state directory not found") as caught:
        load_desired(tmp_path / "nope")
    assert "--dir" in caught.value.hint


def test_missing_settings_file_is_a_plain_error(tmp_path: Path) -> None:
    (tmp_path / "clients").mkdir()
    with pytest.raises(ReconcilerError, match=r"has no reconciler\.yaml"):
        load_desired(tmp_path)


def test_a_single_problem_says_problem(tree: Tree) -> None:
    root = tree({"clients/x.yaml": "client_id: x\nname: [1]\n"})
    with pytest.raises(ValidationFailed, match=r"^1 problem in desired state$"):
        load_desired(root)


# Hostile inputs: each gives exactly one clear problem and never a crash (issue 3).


def test_billion_laughs_is_one_problem_without_expansion(tree: Tree) -> None:
    lines = ["client_id: bomb", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghij"):
        prev = "abcdefghij"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    root = tree({"clients/bomb.yaml": "\n".join(lines) + "\n"})
    assert problems_of(root) == [
        "clients/bomb.yaml:2:4: $.a: anchor &a: anchors and aliases are not allowed "
        "(90 more in this file)"
    ]


def test_python_tag_is_refused_not_executed(tree: Tree, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"client_id: x\nname: !!python/object/apply:os.system ['touch {marker}']\n"
    root = tree({"clients/evil.yaml": text})
    assert problems_of(root) == [
        "clients/evil.yaml:2:7: $.name: tag tag:yaml.org,2002:python/object/apply:os.system: "
        "tags are not allowed, only plain data"
    ]
    assert not marker.exists()


def test_fifty_megabyte_file_is_refused_before_reading(tree: Tree) -> None:
    root = tree()
    with (root / "clients" / "huge.yaml").open("wb") as f:
        f.write(b"client_id: huge\nname: ")
        f.truncate(50 * 1024 * 1024)
    assert problems_of(root) == [
        "clients/huge.yaml:1:1: $: file is 52428800 bytes, over the limit of 1048576 "
        "(limits.max_file_bytes)"
    ]


def test_ten_thousand_deep_nesting_is_one_problem(tree: Tree) -> None:
    root = tree({"clients/deep.yaml": "client_id: d\nname: " + "[" * 10_000 + "]" * 10_000 + "\n"})
    assert problems_of(root) == [
        "clients/deep.yaml:2:1006: $: nesting deeper than 64 levels is not allowed"
    ]


def test_deep_block_nesting_is_one_problem(tree: Tree) -> None:
    # 1,200 indented levels (about 720 KB: block nesting costs its indentation in bytes).
    text = "client_id: d\nname:\n" + "".join(" " * i + "k:\n" for i in range(1, 1200))
    root = tree({"clients/deep.yaml": text})
    assert problems_of(root) == [
        "clients/deep.yaml:66:65: $: nesting deeper than 64 levels is not allowed"
    ]


def test_invalid_utf8_is_one_problem(tree: Tree) -> None:
    root = tree({"clients/latin1.yaml": "client_id: x\nname: Zürich\n".encode("latin-1")})
    assert problems_of(root) == [
        "clients/latin1.yaml:2:8: $: not valid UTF-8 (byte 0xfc); save the file as UTF-8"
    ]


def test_empty_file_is_one_problem(tree: Tree) -> None:
    root = tree({"clients/empty.yaml": ""})
    assert problems_of(root) == ["clients/empty.yaml:1:1: $: file is empty; expected a mapping"]


def test_top_level_list_is_one_problem(tree: Tree) -> None:
    root = tree({"clients/list.yaml": "# a list\n- client_id: x\n"})
    assert problems_of(root) == [
        "clients/list.yaml:2:1: $: top level is a list; expected a mapping"
    ]


@pytest.mark.parametrize(
    ("value", "described"),
    [("12345", "an integer (12345)"), ("true", "a boolean (true)"), ("~", "null"),
     ("[a]", "a list"), ("1.5", "a number (1.5)")],
)  # fmt: skip
def test_client_id_that_is_not_a_string_is_one_problem(
    tree: Tree, value: str, described: str
) -> None:
    root = tree({"clients/n.yaml": f"client_id: {value}\n"})
    assert problems_of(root) == [
        f"clients/n.yaml:1:12: $.client_id: expected a string, got {described}"
    ]


def test_a_utf8_bom_is_accepted(tree: Tree) -> None:
    root = tree({"clients/bom.yaml": b"\xef\xbb\xbfclient_id: with-bom\n"})
    assert "with-bom" in load_desired(root).clients
