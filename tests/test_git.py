"""reconciler/git.py: revisions, trees, changed paths and blobs of real repositories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler import git as git_module
from reconciler.errors import ReconcilerError
from reconciler.git import (
    BlobReader,
    Repo,
    TreeEntry,
    changed_ahead,
    changed_since,
    clean_env,
    run_git,
)
from tests.git_helpers import commit_all, git, init_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = init_repo(tmp_path / "repo")
    (root / "state" / "clients").mkdir(parents=True)
    (root / "state" / "clients" / "a.yaml").write_text("client_id: a\n")
    (root / "state" / "reconciler.yaml").write_text("strategy: merge\n")
    (root / "README.md").write_text("outside the desired state\n")
    commit_all(root, "first")
    git(root, "tag", "v1")
    (root / "state" / "clients" / "b.yaml").write_text("client_id: b\n")
    commit_all(root, "second")
    return root


def test_clean_env_drops_repository_pointers_and_keeps_transport() -> None:
    env = clean_env(
        {
            "PATH": "/bin",
            "GIT_DIR": "/elsewhere/.git",
            "GIT_INDEX_FILE": "/tmp/index.lock",
            "GIT_WORK_TREE": "/elsewhere",
            "GIT_OBJECT_DIRECTORY": "/elsewhere/objects",
            "GIT_SSH_COMMAND": "ssh -i key",
            "GIT_CONFIG_KEY_0": "safe.directory",
            "GIT_CONFIG_VALUE_0": "*",
        }
    )
    assert env == {
        "PATH": "/bin",
        "GIT_SSH_COMMAND": "ssh -i key",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
        "LC_ALL": "C",
    }


def test_commands_ignore_a_hooks_git_dir(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = init_repo(tmp_path / "other")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_INDEX_FILE", str(tmp_path / "nowhere" / "index"))
    found = Repo.containing(repo / "state")
    assert found.toplevel == Path(os.path.realpath(repo))
    assert sorted(found.tree(found.resolve("HEAD"), "state")) == [
        "clients/a.yaml",
        "clients/b.yaml",
        "reconciler.yaml",
    ]


def test_containing_from_a_subdirectory_and_a_deleted_one(repo: Path) -> None:
    assert Repo.containing(repo / "state" / "clients").toplevel == Path(os.path.realpath(repo))
    gone = repo / "state" / "removed" / "deeper"
    assert Repo.containing(gone).prefix_of(gone) == "state/removed/deeper"
    assert Repo.containing(repo).prefix_of(repo) == ""


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(ReconcilerError) as err:
        Repo.containing(plain)
    assert err.value.message == f"--ref needs a git repository, but {plain} is not inside one"
    assert err.value.hint == "run `git init` and commit the desired state, or drop --ref"


def test_resolve_names(repo: Path) -> None:
    found = Repo(repo)
    head = git(repo, "rev-parse", "HEAD").strip()
    first = git(repo, "rev-parse", "HEAD~1").strip()
    assert found.resolve("HEAD") == head
    assert found.resolve("main") == head
    assert found.resolve("v1") == first
    assert found.resolve("HEAD~1") == first
    assert found.resolve(first[:8]) == first


@pytest.mark.parametrize("rev", ["nope", "HEAD~9"])
def test_resolve_unknown(repo: Path, rev: str) -> None:
    with pytest.raises(ReconcilerError) as err:
        Repo(repo).resolve(rev)
    assert err.value.message == f"unknown git revision {rev!r} in {repo}"
    assert "fetch-depth: 0" in err.value.hint


@pytest.mark.parametrize("rev", ["--output=/tmp/x", "", "a\0b"])
def test_resolve_refuses_options(repo: Path, rev: str) -> None:
    with pytest.raises(ReconcilerError, match="invalid git revision"):
        Repo(repo).resolve(rev)


def test_tree_lists_regular_files_with_sizes(repo: Path) -> None:
    (repo / "state" / "link.yaml").symlink_to("reconciler.yaml")
    (repo / "state" / "odd name\n.yaml").write_text("x: 1\n")
    sha = commit_all(repo, "odd files")
    tree = Repo(repo).tree(sha, "state")
    blob = git(repo, "rev-parse", f"{sha}:state/reconciler.yaml").strip()
    assert sorted(tree) == [
        "clients/a.yaml",
        "clients/b.yaml",
        "odd name\n.yaml",
        "reconciler.yaml",
    ]
    assert tree["reconciler.yaml"] == TreeEntry(blob, len("strategy: merge\n"))


def test_tree_of_a_missing_directory_is_empty(repo: Path) -> None:
    found = Repo(repo)
    assert found.tree(found.resolve("HEAD"), "no-such-dir") == {}
    assert found.tree(found.resolve("HEAD"), "README.md") == {}


def test_changed_paths_against_the_working_tree(repo: Path) -> None:
    found = Repo(repo)
    (repo / "state" / "clients" / "a.yaml").write_text("client_id: a\nname: A\n")  # unstaged
    (repo / "state" / "clients" / "b.yaml").unlink()  # deleted
    (repo / "state" / "reconciler.yaml").write_text("strategy: replace\n")
    git(repo, "add", "state/reconciler.yaml")  # staged
    (repo / "state" / "clients" / "new.yaml").write_text("client_id: n\n")  # untracked
    (repo / ".gitignore").write_text("*.tmp\n")
    (repo / "state" / "clients" / "scratch.tmp").write_text("ignored\n")
    (repo / "README.md").write_text("changed, outside the prefix\n")
    assert found.changed_paths("HEAD", None, "state") == [
        "clients/a.yaml",
        "clients/b.yaml",
        "clients/new.yaml",
        "reconciler.yaml",
    ]
    assert found.changed_paths("v1", "HEAD", "state") == ["clients/b.yaml"]
    assert found.changed_paths("v1", "HEAD", "") == ["state/clients/b.yaml"]


def test_blob_reader_reads_many_and_stops(repo: Path) -> None:
    found = Repo(repo)
    tree = found.tree(found.resolve("HEAD"), "state")
    reader = BlobReader(found)
    assert [reader.read(tree[p].sha) for p in sorted(tree)] == [
        b"client_id: a\n",
        b"client_id: b\n",
        b"strategy: merge\n",
    ]
    reader.close()
    assert reader.read(tree["clients/a.yaml"].sha) == b"client_id: a\n"  # restarts on demand
    reader.close()
    shas = [tree[p].sha for p in sorted(tree)]
    assert reader.read_many(shas) == {
        shas[0]: b"client_id: a\n",
        shas[1]: b"client_id: b\n",
        shas[2]: b"strategy: merge\n",
    }
    assert reader.read_many([]) == {}
    with pytest.raises(ReconcilerError, match="cannot read blob 0000000"):
        reader.read_many(["0" * 40])


def test_run_git_failure_names_the_command(repo: Path) -> None:
    with pytest.raises(ReconcilerError) as err:
        run_git(["cat-file", "-t", "deadbeef"], cwd=repo, what="cannot read")
    assert err.value.message.startswith("cannot read: `git cat-file -t deadbeef`: fatal: ")


def test_changed_paths_found_ahead_equal_those_found_in_place(repo: Path) -> None:
    """`plan --changed-since` starts git before importing the store layer (issue 15)."""
    state = str(repo / "state")
    (repo / "state" / "clients" / "c.yaml").write_text("client_id: c\n")  # untracked
    (repo / "state" / "clients" / "a.yaml").write_text("client_id: a2\n")  # modified
    in_place = changed_since(state, "v1", None)
    with changed_ahead(state, "v1", None):
        ahead = changed_since(state, "v1", None)
    assert ahead[1] == in_place[1] == ["clients/a.yaml", "clients/b.yaml", "clients/c.yaml"]
    assert ahead[0] == in_place[0] == Repo.containing(state)


def test_an_answer_found_ahead_is_never_served_after_its_command(repo: Path) -> None:
    state = str(repo / "state")
    with changed_ahead(state, "HEAD", None):
        git_module._AHEAD[(state, "HEAD", None)].result()  # found, before the tree changes
        # ... and the command failed before it asked (a bad --store, say)
    (repo / "state" / "clients" / "c.yaml").write_text("client_id: c\n")
    assert changed_since(state, "HEAD", None)[1] == ["clients/c.yaml"]


def test_a_git_error_found_ahead_is_raised_where_the_answer_is_taken(repo: Path) -> None:
    state = str(repo / "state")
    with pytest.raises(ReconcilerError) as in_place:
        changed_since(state, "no-such-rev", None)
    with changed_ahead(state, "no-such-rev", None), pytest.raises(ReconcilerError) as ahead:
        changed_since(state, "no-such-rev", None)
    assert ahead.value.message == in_place.value.message
    assert ahead.value.message == f"unknown git revision 'no-such-rev' in {repo}"
