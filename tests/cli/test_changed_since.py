"""`plan --changed-since REV`: only clients whose resolved desired state differs, in real repos."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.live.engine import dispose_engine, make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS, Result, copy_example, invoke
from tests.git_helpers import commit_all, example_repo, git, init_repo

ACME = EXAMPLE_IDS["acme-dental"]
BRIGHT = EXAMPLE_IDS["bright-smiles"]
NORTHWIND = EXAMPLE_IDS["northwind-clinic"]
SUMMIT = EXAMPLE_IDS["summit-health"]
HARBOR = EXAMPLE_IDS["harbor-physio"]
LAKESIDE = EXAMPLE_IDS["lakeside-vets"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/store.db"
    init(make_engine(url))
    yield url
    dispose_engine(url)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    return example_repo(tmp_path)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def plan(capsys: pytest.CaptureFixture[str], store: str, desired: Path, *args: str) -> Result:
    return invoke(
        capsys, "plan", "--store", store, "--dir", str(desired), "--format", "json", *args
    )


def since(result: Result) -> dict[str, object]:
    assert result.code == 0, result.err
    data = result.json()
    return {
        "changed": data["changed_since"]["clients_changed"],
        "compared": data["changed_since"]["clients_compared"],
        "paths": data["changed_since"]["paths"],
        "planned": [c["client_id"] for c in data["clients"]],
    }


def test_client_edit_plans_only_that_client(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desired = repo
    head = git(root, "rev-parse", "HEAD").strip()
    edit(desired / "clients/acme-dental.yaml", "max_fields: 60", "max_fields: 61")
    result = plan(capsys, store, desired, "--changed-since", "HEAD")
    assert since(result) == {
        "changed": [ACME],
        "compared": 1,
        "paths": ["clients/acme-dental.yaml"],
        "planned": [ACME],
    }
    assert result.json()["changed_since"] == {
        "rev": "HEAD",
        "commit": head,
        "head": "working tree",
        "paths": ["clients/acme-dental.yaml"],
        "clients_compared": 1,
        "clients_changed": [ACME],
        "deleted": [],
        "warnings": [],
    }


def test_comment_only_edit_plans_nothing(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _root, desired = repo
    edit(desired / "clients/acme-dental.yaml", "profiles:", "# reviewed\nprofiles:")
    result = plan(capsys, store, desired, "--changed-since", "HEAD", "--detailed-exitcode")
    assert since(result) == {
        "changed": [],
        "compared": 1,
        "paths": ["clients/acme-dental.yaml"],
        "planned": [],
    }


def test_profile_edit_fans_out_to_its_clients_only(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desired = repo
    edit(desired / "profiles/enterprise.yaml", "sla_hours: 4", "sla_hours: 2")
    commit_all(root, "enterprise: 2h SLA")
    result = plan(capsys, store, desired, "--changed-since", "HEAD~1")
    assert since(result) == {
        "changed": [SUMMIT, NORTHWIND],
        "compared": 2,
        "paths": ["profiles/enterprise.yaml"],
        "planned": [SUMMIT, NORTHWIND],
    }


def test_profile_edit_that_resolves_the_same_plans_nothing(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _root, desired = repo
    edit(desired / "profiles/growth.yaml", "description: Online", "description: Remote")
    result = plan(capsys, store, desired, "--changed-since", "HEAD")
    assert since(result) == {
        "changed": [],
        "compared": 3,  # acme-dental, northwind-clinic, summit-health list growth
        "paths": ["profiles/growth.yaml"],
        "planned": [],
    }


def test_module_definition_edit_reaches_the_clients_using_it(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _root, desired = repo
    edit(desired / "modules/email-integration.yaml", "port: 587", "port: 2525")
    result = plan(capsys, store, desired, "--changed-since", "HEAD")
    assert since(result) == {
        "changed": [SUMMIT, NORTHWIND],
        "compared": 2,
        "paths": ["modules/email-integration.yaml"],
        "planned": [SUMMIT, NORTHWIND],
    }


def test_a_rename_in_a_module_compares_every_client(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`replaces` changes how any client's legacy list reads (issue 13), so every client is
    compared and planned, whether or not its file mentions the module."""
    _root, desired = repo
    module = desired / "modules/documents.yaml"
    module.write_text(module.read_text() + "replaces: [documents-legacy]\n")
    result = since(plan(capsys, store, desired, "--changed-since", "HEAD"))
    assert result["compared"] == 6
    assert result["changed"] == sorted(EXAMPLE_IDS.values())
    assert result["paths"] == ["modules/documents.yaml"]


def test_deleted_client_is_reported_not_planned(
    repo: tuple[Path, Path],
    store: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _root, desired = repo
    monkeypatch.chdir(_root)  # files are shown relative to the current directory
    (desired / "clients/bright-smiles.yaml").unlink()
    result = plan(capsys, store, desired, "--changed-since", "HEAD", "--detailed-exitcode")
    assert since(result)["planned"] == []
    assert result.json()["changed_since"]["deleted"] == [
        {
            "action": "not planned; live state left as is",
            "client_id": BRIGHT,
            "file": "desired-state/clients/bright-smiles.yaml",
            "name": "bright-smiles",
            "strategy": "merge",
        }
    ]
    text = invoke(
        capsys, "plan", "--store", store, "--dir", str(desired), "--changed-since", "HEAD"
    )
    assert text.code == 0
    assert text.out.splitlines()[1:3] == [
        "Changed since HEAD ("
        + git(_root, "rev-parse", "--short=12", "HEAD").strip()
        + ") -> working tree: 1 changed file; 0 clients compared, 0 with a changed desired state",
        f"client bright-smiles ({BRIGHT}, desired-state/clients/bright-smiles.yaml) deleted in working tree: "
        "not planned; its live state is left as is",
    ]
    markdown = invoke(
        capsys,
        "plan",
        "--store",
        store,
        "--dir",
        str(desired),
        "--changed-since",
        "HEAD",
        "--format",
        "markdown",
    )
    assert (
        f"- client bright-smiles ({BRIGHT}, desired-state/clients/bright-smiles.yaml) deleted in working tree: "
        "not planned; its live state is left as is\n" in markdown.out
    )


def test_new_untracked_and_renamed_clients(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _root, desired = repo
    (desired / "clients/harbor-physio.yaml").rename(desired / "clients/harbor.yaml")
    (desired / "clients/new.yaml").write_text("client_id: new-client\nprofiles: [foundation]\n")
    result = plan(capsys, store, desired, "--changed-since", "HEAD")
    assert since(result) == {
        "changed": ["new-client"],  # the renamed file resolves the same: not planned
        "compared": 2,
        "paths": ["clients/harbor-physio.yaml", "clients/harbor.yaml", "clients/new.yaml"],
        "planned": ["new-client"],
    }
    assert result.json()["changed_since"]["deleted"] == []


def test_settings_edits(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desired = repo
    edit(desired / "reconciler.yaml", "max_clients_changed: 50", "max_clients_changed: 60")
    assert since(plan(capsys, store, desired, "--changed-since", "HEAD")) == {
        "changed": [],
        "compared": 0,  # thresholds change no client's desired state
        "paths": ["reconciler.yaml"],
        "planned": [],
    }
    edit(desired / "reconciler.yaml", "channel: email", "channel: chat")
    result = since(plan(capsys, store, desired, "--changed-since", "HEAD"))
    # every client is compared; the enterprise profile sets its own channel (phone)
    assert result["compared"] == 6
    assert result["changed"] == sorted(result["changed"])
    assert set(result["changed"]) == {ACME, BRIGHT, HARBOR, LAKESIDE}
    assert git(root, "status", "--porcelain") == " M desired-state/reconciler.yaml\n"


def test_ref_compares_two_commits_and_ignores_the_working_tree(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desired = repo
    edit(desired / "clients/bright-smiles.yaml", "#f5a623", "#000000")
    commit_all(root, "bright: black")
    edit(desired / "clients/acme-dental.yaml", "max_fields: 60", "max_fields: 61")  # uncommitted
    result = plan(capsys, store, desired, "--changed-since", "HEAD~1", "--ref", "HEAD")
    assert since(result) == {
        "changed": [BRIGHT],
        "compared": 1,
        "paths": ["clients/bright-smiles.yaml"],
        "planned": [BRIGHT],
    }
    assert result.json()["changed_since"]["head"] == "--ref HEAD"


def test_shard_and_client_filter_the_changed_clients(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _root, desired = repo
    edit(desired / "profiles/enterprise.yaml", "sla_hours: 4", "sla_hours: 2")
    only = plan(capsys, store, desired, "--changed-since", "HEAD", "--client", NORTHWIND)
    assert since(only)["planned"] == [NORTHWIND]
    shards = [
        since(plan(capsys, store, desired, "--changed-since", "HEAD", "--shard", f"{k}/3"))
        for k in (1, 2, 3)
    ]
    planned = [cid for s in shards for cid in s["planned"]]
    assert sorted(planned) == sorted([SUMMIT, NORTHWIND])


def test_a_revision_without_the_desired_state_plans_every_client(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root = init_repo(tmp_path / "repo")
    (root / "README.md").write_text("empty start\n")
    commit_all(root, "start")
    shutil.copytree(EXAMPLE, root / "desired-state")
    result = plan(capsys, store, root / "desired-state", "--changed-since", "HEAD")
    data = result.json()["changed_since"]
    assert data["clients_changed"] == sorted(EXAMPLE_IDS.values())
    assert data["warnings"] == [
        f"the desired state at HEAD does not load ({root / 'desired-state'}@HEAD is not a "
        "desired-state directory: it has no reconciler.yaml); every candidate client is planned"
    ]


def test_not_a_git_repository(
    tmp_path: Path, store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = copy_example(tmp_path)
    result = plan(capsys, store, desired, "--changed-since", "main")
    assert result.code == 1
    assert result.out == ""
    assert result.err == (
        f"error: --changed-since needs a git repository, but {desired} is not inside one\n"
        "hint: run `git init` and commit the desired state, or drop --changed-since\n"
    )


def test_unknown_revision(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desired = repo
    result = plan(capsys, store, desired, "--changed-since", "origin/main")
    assert result.code == 1
    assert result.err.splitlines()[0] == f"error: unknown git revision 'origin/main' in {root}"


def test_invalid_working_tree_fails_with_positions(
    repo: tuple[Path, Path],
    store: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _root, desired = repo
    monkeypatch.chdir(_root)
    edit(desired / "clients/acme-dental.yaml", "max_fields: 60", "max_fields: many")
    result = plan(capsys, store, desired, "--changed-since", "HEAD")
    assert result.code == 1
    assert result.err == (
        "desired-state/clients/acme-dental.yaml:9:19: $.modules.forms.settings.max_fields: expected an "
        "integer, got a string ('many')\n"
        "error: 1 problem in desired state\n"
        "hint: fix them and run `reconciler validate` again\n"
    )


def test_profile_named_through_a_yaml_escape_is_still_found(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    root, desired = repo
    # "enterpris\x65" is "enterprise": the file holds no "enterprise" bytes, only a backslash.
    edit(
        desired / "clients/northwind-clinic.yaml",
        "profiles: [foundation, growth, enterprise]",
        'profiles: [foundation, growth, "enterpris\\x65"]',
    )
    commit_all(root, "northwind: escaped profile name")
    edit(desired / "profiles/enterprise.yaml", "sla_hours: 4", "sla_hours: 2")
    assert since(plan(capsys, store, desired, "--changed-since", "HEAD")) == {
        "changed": [SUMMIT, NORTHWIND],
        "compared": 2,
        "paths": ["profiles/enterprise.yaml"],
        "planned": [SUMMIT, NORTHWIND],
    }


def test_module_reached_through_a_profile_and_through_the_defaults(
    repo: tuple[Path, Path], store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _root, desired = repo
    # questionnaire-engine comes from the growth profile only; no client file names it.
    edit(desired / "modules/questionnaire-engine.yaml", "version: 1.4.0", "version: 1.4.1")
    assert since(plan(capsys, store, desired, "--changed-since", "HEAD")) == {
        "changed": [ACME, SUMMIT, NORTHWIND],
        "compared": 3,
        "paths": ["modules/questionnaire-engine.yaml"],
        "planned": [ACME, SUMMIT, NORTHWIND],
    }
    # support is in reconciler.yaml defaults: every client resolves it.
    edit(desired / "modules/support.yaml", "version: 1.2.0", "version: 1.2.1")
    result = since(plan(capsys, store, desired, "--changed-since", "HEAD"))
    assert (result["compared"], len(result["changed"])) == (6, 6)
