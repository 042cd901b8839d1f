"""WorkingTree: sorted recursive YAML listing, bytes, sizes, and HEAD as the commit."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.desired.source import Source, WorkingTree
from reconciler.errors import ReconcilerError


def test_lists_yaml_files_recursively_sorted(tmp_path: Path) -> None:
    for rel in ["clients/b.yaml", "clients/a.yml", "clients/z/c.yaml", "clients/notes.txt",
                "clients/.hidden/d.yaml"]:  # fmt: skip
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x: 1\n")
    tree = WorkingTree(tmp_path)
    assert isinstance(tree, Source)
    assert tree.list_files("clients") == ["clients/a.yml", "clients/b.yaml", "clients/z/c.yaml"]
    assert tree.list_files("profiles") == []
    assert tree.read_bytes("clients/b.yaml") == b"x: 1\n"
    assert tree.size("clients/b.yaml") == 5
    assert tree.commit is None


def test_commit_is_head_inside_a_git_repository(tmp_path: Path) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(tmp_path)}  # fmt: skip
    (tmp_path / "desired").mkdir()
    (tmp_path / "desired" / "reconciler.yaml").write_text("strategy: merge\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True, env=env)
    subprocess.run(["git", "-C", str(tmp_path), "commit", "-qm", "init"], check=True, env=env)
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True, env=env
    ).stdout.strip()
    assert WorkingTree(tmp_path / "desired").commit == head


def test_no_commit_yet_is_none_whatever_git_dir_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(tmp_path)}  # fmt: skip
    other = tmp_path / "other"
    subprocess.run(["git", "init", "-q", str(other)], check=True, env=env)
    subprocess.run(["git", "-C", str(other), "commit", "-q", "--allow-empty", "-m", "x"],
                   check=True, env=env)  # fmt: skip
    (tmp_path / "repo" / "desired").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True, env=env)
    # A hook or CI step may export GIT_DIR for another repository: the tree's own HEAD counts.
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    assert WorkingTree(tmp_path / "repo" / "desired").commit is None


def test_missing_file_and_directory_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ReconcilerError, match="desired-state directory not found"):
        WorkingTree(tmp_path / "absent")
    with pytest.raises(ReconcilerError, match=r"cannot read clients/x\.yaml"):
        WorkingTree(tmp_path).read_bytes("clients/x.yaml")
