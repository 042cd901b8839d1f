"""Shown paths (issue 16): relative to the current directory, absolute outside it."""

from __future__ import annotations

from pathlib import Path

from reconciler.desired.shown import ShownPaths
from reconciler.errors import Location, Problem, ValidationFailed


def test_a_tree_below_the_cwd_is_prefixed_with_its_relative_path(tmp_path: Path) -> None:
    shown = ShownPaths(tmp_path / "sub" / "desired-state", cwd=str(tmp_path))
    assert shown("clients/x.yaml") == "sub/desired-state/clients/x.yaml"


def test_the_cwd_itself_and_a_relative_root(tmp_path: Path) -> None:
    assert ShownPaths(tmp_path, cwd=str(tmp_path))("clients/x.yaml") == "clients/x.yaml"
    assert ShownPaths(".")("clients/x.yaml") == "clients/x.yaml"
    assert ShownPaths("sub/../desired-state")("modules/a.yaml") == "desired-state/modules/a.yaml"


def test_a_tree_outside_the_cwd_is_absolute(tmp_path: Path) -> None:
    here, there = tmp_path / "here", tmp_path / "there"
    shown = ShownPaths(there, cwd=str(here))
    assert shown("clients/x.yaml") == f"{there}/clients/x.yaml"
    sibling = ShownPaths(tmp_path / "here-not", cwd=str(here))  # a prefix, not a parent
    assert sibling("clients/x.yaml") == f"{tmp_path}/here-not/clients/x.yaml"


def test_no_file_and_non_paths_are_kept(tmp_path: Path) -> None:
    shown = ShownPaths(tmp_path / "d", cwd=str(tmp_path))
    assert (shown(""), shown("client 42")) == ("", "client 42")
    assert shown.location(Location("")) == Location("")


def test_an_error_keeps_its_message_hint_and_counts(tmp_path: Path) -> None:
    failed = ValidationFailed(
        "1 problem in desired state",
        hint="fix it",
        problems=[Problem(Location("clients/x.yaml", 5, 11), "$.modules", "unknown module 'x'")],
        counts={"clients": 3},
    )
    moved = ShownPaths(tmp_path / "sub", cwd=str(tmp_path)).error(failed)
    assert (moved.message, moved.hint, moved.counts) == (failed.message, "fix it", {"clients": 3})
    assert [str(p) for p in moved.problems] == [
        "sub/clients/x.yaml:5:11: $.modules: unknown module 'x'"
    ]
