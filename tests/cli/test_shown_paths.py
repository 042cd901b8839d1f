"""Paths in problems and plan lines are relative to the current directory (issue 16): run from
a repository root on sub/desired-state, every file:line:col opens from there."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.live.demo import seed_demo
from reconciler.live.engine import dispose_engine, make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import EXAMPLE, invoke


@pytest.fixture
def repo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "sub" / "desired-state")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validate_from_the_repository_root(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    harbor = repo_root / "sub/desired-state/clients/harbor-physio.yaml"
    harbor.write_text(harbor.read_text().replace("strategy: replace", "strategy: replase"))
    result = invoke(capsys, "validate", "sub/desired-state")
    assert (result.code, result.err) == (1, "")
    assert result.out == (
        "sub/desired-state/clients/harbor-physio.yaml:5:11: $.strategy: 'replase' is not one "
        "of: merge, replace, preserve\n1 problem in 1 file\n"
    )
    json_out = invoke(capsys, "validate", "sub/desired-state", "--format", "json").json()
    assert json_out["errors"][0]["file"] == "sub/desired-state/clients/harbor-physio.yaml"
    # the same tree from inside it, and from elsewhere (absolute)
    inside = invoke(capsys, "validate", str(repo_root / "sub/desired-state"))
    assert inside.out.startswith("sub/desired-state/clients/harbor-physio.yaml:5:11: ")
    outside = repo_root.parent / f"{repo_root.name}-elsewhere"
    outside.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(outside)
        far = invoke(capsys, "validate", str(repo_root / "sub/desired-state"))
    assert far.out.startswith(f"{repo_root}/sub/desired-state/clients/harbor-physio.yaml:5:11: ")


def test_plan_lines_and_safety_refusals_name_files_from_the_cwd(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = repo_root / "sub/desired-state/reconciler.yaml"
    settings.write_text(
        settings.read_text().replace("max_clients_changed: 50", "max_clients_changed: 1")
    )
    store = f"sqlite:///{repo_root}/store.db"
    init(make_engine(store))
    seed_demo(make_engine(store))
    plan = invoke(capsys, "plan", "--store", store, "--dir", "sub/desired-state")
    assert plan.code == 0, plan.err
    assert (
        "~ harbor-physio  d18ea511-018e-4cde-86d2-c73949d0f77a  "
        "(sub/desired-state/clients/harbor-physio.yaml, strategy replace)"
    ) in plan.out.splitlines()
    refused = invoke(capsys, "apply", "--yes", "--store", store, "--dir", "sub/desired-state")
    dispose_engine(store)
    assert refused.code == 1
    assert refused.err.splitlines()[-3:] == [
        "sub/desired-state/reconciler.yaml: $.safety.max_clients_changed: 5 clients would "
        "change, limit is 1",
        "error: run refused before any write: 1 safety check(s) failed",
        "hint: review the plan; rerun with --force (and --reason) to proceed anyway",
    ]
