"""`--ref REV` on validate, plan, apply and drift: desired state from a commit, no checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.git_helpers import commit_all, example_repo, git
from tests.helpers import add_clients

ACME = EXAMPLE_IDS["acme-dental"]


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    """Commit 1: the example; commit 2: acme-dental gets 61 form fields; working tree: 62."""
    root, desired = example_repo(tmp_path)
    path = desired / "clients/acme-dental.yaml"
    path.write_text(path.read_text().replace("max_fields: 60", "max_fields: 61"))
    commit_all(root, "acme: 61")
    path.write_text(path.read_text().replace("max_fields: 61", "max_fields: 62"))
    return root, desired


def test_validate_ref(repo: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    root, desired = repo
    (desired / "clients/broken.yaml").write_text("client_id: [\n")
    assert invoke(capsys, "validate", str(desired)).code == 1
    result = invoke(capsys, "validate", str(desired), "--ref", "HEAD~1")
    assert (result.code, result.out) == (0, "ok: 6 clients, 12 modules, 3 profiles\n")
    assert git(root, "status", "--porcelain") == (
        " M desired-state/clients/acme-dental.yaml\n?? desired-state/clients/broken.yaml\n"
    )


def test_ref_needs_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desired = copy_example(tmp_path)
    result = invoke(capsys, "validate", str(desired), "--ref", "HEAD")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: --ref needs a git repository, but {desired} is not inside one\n"
        "hint: run `git init` and commit the desired state, or drop --ref\n"
    )


def fields(capsys: pytest.CaptureFixture[str], store: str, desired: Path, *ref: str) -> object:
    result = invoke(
        capsys, "plan", "--store", store, "--dir", str(desired), "--format", "json", *ref
    )
    assert result.code == 0, result.err
    plan = result.json()
    acme = [c for c in plan["clients"] if c["client_id"] == ACME]
    changes = acme[0]["changes"] if acme else []
    return [
        (c["op"], c["old"], c["new"])
        for c in changes
        if c["module"] == "forms" and c["path"] == ["max_fields"]
    ]


def test_apply_plan_and_drift_at_a_ref(
    repo: tuple[Path, Path], store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desired = repo
    add_clients(store_url, EXAMPLE_IDS.values())
    first = git(root, "rev-parse", "HEAD~1").strip()
    applied = invoke(
        capsys, "apply", "--yes", "--store", store_url, "--dir", str(desired), "--ref", "HEAD~1"
    )
    assert applied.code == 0, applied.err
    assert fields(capsys, store_url, desired, "--ref", "HEAD~1") == []
    assert fields(capsys, store_url, desired, "--ref", "HEAD") == [("change", 60, 61)]
    assert fields(capsys, store_url, desired) == [("change", 60, 62)]
    history = invoke(capsys, "history", "--store", store_url, "--format", "json").json()
    assert history["runs"][0]["desired_commit"] == first
    drift = invoke(
        capsys, "drift", "--store", store_url, "--dir", str(desired), "--ref", "HEAD~1",
        "--format", "json",
    )  # fmt: skip
    assert drift.code == 0
    assert drift.json()["summary"]["pending"] == 0
    drift = invoke(
        capsys, "drift", "--store", store_url, "--dir", str(desired), "--ref", "HEAD",
        "--format", "json",
    )  # fmt: skip
    assert drift.code == 0
    pending = [c["client_id"] for c in drift.json()["clients"] if "pending" in c["classes"]]
    assert pending == [ACME]
