"""reconciler/desired/source.py GitRevision: a desired state at a revision, no checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import api
from reconciler.desired.source import GitRevision, Source
from reconciler.errors import ReconcilerError
from reconciler.model import DesiredState
from tests.git_helpers import commit_all, example_repo, git

ACME = "clients/acme-dental.yaml"
ACME_ID = "0ee6a19a-b01d-4773-8a91-d6023ddab802"


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path, str]:
    """The example at commit 1; commit 2 edits acme-dental; the working tree is dirty too."""
    repo, desired = example_repo(tmp_path)
    first = git(repo, "rev-parse", "HEAD").strip()
    path = desired / ACME
    path.write_text(path.read_text().replace("max_fields: 60", "max_fields: 61"))
    commit_all(repo, "acme: 61 fields")
    path.write_text(path.read_text().replace("max_fields: 61", "max_fields: 62"))
    return repo, desired, first


def test_git_revision_is_a_source(history: tuple[Path, Path, str]) -> None:
    _repo, desired, first = history
    with GitRevision(desired, "HEAD~1") as source:
        assert isinstance(source, Source)
        assert source.commit == first
        assert source.root == f"{desired}@HEAD~1"
        assert source.list_files("profiles") == [
            "profiles/enterprise.yaml",
            "profiles/foundation.yaml",
            "profiles/growth.yaml",
        ]
        assert source.exists("reconciler.yaml")
        assert not source.exists("clients/none.yaml")
        raw = source.read_bytes(ACME)
        assert b"max_fields: 60" in raw
        assert source.size(ACME) == len(raw)
        with pytest.raises(ReconcilerError, match=r"cannot read clients/none\.yaml: not in "):
            source.read_bytes("clients/none.yaml")


def max_fields(state: DesiredState) -> int:
    return int(state.clients[ACME_ID].modules["forms"].settings["max_fields"])


def test_validate_at_an_older_commit_leaves_the_working_tree(
    history: tuple[Path, Path, str],
) -> None:
    repo, desired, first = history
    before = git(repo, "status", "--porcelain")
    old = api.validate(str(desired), ref="HEAD~1")
    assert old.commit == first
    assert max_fields(old) == 60
    assert max_fields(api.validate(str(desired), ref="main")) == 61
    assert max_fields(api.validate(str(desired))) == 62
    assert git(repo, "status", "--porcelain") == before
    assert before == " M desired-state/clients/acme-dental.yaml\n"
    assert "max_fields: 62" in (desired / ACME).read_text()


def test_ref_of_a_directory_deleted_in_the_working_tree(tmp_path: Path) -> None:
    repo, desired = example_repo(tmp_path, subdir="config/desired")
    git(repo, "rm", "-r", "-q", "config")
    commit_all(repo, "remove the desired state")
    assert not desired.exists()
    assert len(api.validate(str(desired), ref="HEAD~1").clients) == 6
    with pytest.raises(ReconcilerError) as err:
        api.validate(str(desired), ref="HEAD")
    assert err.value.message == (
        f"{desired}@HEAD is not a desired-state directory: it has no reconciler.yaml"
    )


def test_hidden_directories_are_skipped_like_the_working_tree(tmp_path: Path) -> None:
    repo, desired = example_repo(tmp_path)
    (desired / "clients" / ".drafts").mkdir()
    (desired / "clients" / ".drafts" / "draft.yaml").write_text("not: a client\n")
    commit_all(repo, "drafts")
    with GitRevision(desired, "HEAD") as source:
        assert "clients/.drafts/draft.yaml" not in source.list_files("clients")
        assert len(source.list_files("clients")) == 6
    assert len(api.validate(str(desired), ref="HEAD").clients) == 6
