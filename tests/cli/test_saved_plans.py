"""Saved plans bound to their commit (issue 13): `apply FILE` applies what was reviewed, from
the desired state at the plan's commit; what the file lists is what is applied; a key signs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import fingerprint
from tests.cli.cli_helpers import EXAMPLE_IDS, invoke
from tests.git_helpers import commit_all, example_repo
from tests.helpers import add_clients, run_sql

ACME = EXAMPLE_IDS["acme-dental"]
SUMMIT = EXAMPLE_IDS["summit-health"]
SUMMIT_KEY = "api_key: {secret: {file: secrets/summit-health-api-key}}"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _stores(store: str) -> list[Any]:
    """Both live stores, whole rows, and the run history: to compare before and after."""
    return [
        run_sql(store, "SELECT * FROM client_app_overrides ORDER BY client_id"),
        run_sql(store, "SELECT * FROM reconciler_client_modules ORDER BY client_id, module_id"),
        run_sql(store, "SELECT count(*) FROM reconciler_runs"),
    ]


def _setting(store: str, client: str, module: str) -> dict[str, Any]:
    rows = run_sql(
        store,
        "SELECT settings FROM reconciler_client_modules WHERE client_id = %s AND module_id = %s",
        [client, module],
    )
    value = rows[0][0]
    return json.loads(value) if isinstance(value, str) else dict(value)


@pytest.fixture
def repo(store_url: str, tmp_path: Path) -> Path:
    """The example in a git repository, its clients in the store."""
    add_clients(store_url, EXAMPLE_IDS.values())
    _repo, desired = example_repo(tmp_path)
    return desired


def test_apply_file_applies_the_reviewed_commit_and_leaves_later_changes_pending(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEY_REVIEWED", "alpha-reviewed-value")
    monkeypatch.setenv("KEY_LATER", "beta-later-value")
    acme, summit = repo / "clients" / "acme-dental.yaml", repo / "clients" / "summit-health.yaml"
    _edit(acme, "max_fields: 60", "max_fields: 70")
    _edit(summit, SUMMIT_KEY, "api_key: {secret: {env: KEY_REVIEWED}}")
    commit_all(repo.parent, "the reviewed change")
    args = ("--store", store_url, "--dir", str(repo))
    plan_file = tmp_path / "plan.json"
    assert invoke(capsys, "plan", *args, "--out", str(plan_file)).code == 0
    assert json.loads(plan_file.read_text())["uncommitted"] is None

    _edit(acme, "max_fields: 70", "max_fields: 90")  # main moves on before the apply
    _edit(summit, "{env: KEY_REVIEWED}", "{env: KEY_LATER}")
    commit_all(repo.parent, "a later change")
    applied = invoke(capsys, "apply", str(plan_file), "--yes", *args)
    assert applied.code == 0, applied.err
    assert _setting(store_url, ACME, "forms")["max_fields"] == 70  # what was reviewed
    assert _setting(store_url, SUMMIT, "integrations")["api_key"] == "alpha-reviewed-value"
    pending = invoke(capsys, "plan", *args, "--detailed-exitcode", "--format", "json")
    assert pending.code == 2  # the later commit is still to apply
    changed = {(c["client_id"]) for c in pending.json()["clients"] if c["writes"]}
    assert changed == {ACME, SUMMIT}


def test_an_edited_changes_list_is_refused_without_writing(
    capsys: pytest.CaptureFixture[str], store_url: str, repo: Path, tmp_path: Path
) -> None:
    args = ("--store", store_url, "--dir", str(repo))
    plan_file = tmp_path / "plan.json"
    assert invoke(capsys, "plan", *args, "--out", str(plan_file)).code == 0
    body = json.loads(plan_file.read_text())
    body["clients"][0]["changes"] = []  # what a reviewer reads, emptied
    del body["checksum"]
    body["checksum"] = fingerprint(body)  # the checksum recomputed: corruption detection only
    plan_file.write_text(json.dumps(body))
    before = _stores(store_url)
    refused = invoke(capsys, "apply", str(plan_file), "--yes", *args)
    assert refused.code == 1
    assert "the listed changes do not match the plan's changes_fingerprint" in refused.err
    assert _stores(store_url) == before


def test_a_plan_key_signs_plans_and_refuses_unsigned_or_wrongly_signed_ones(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    repo: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    args = ("--store", store_url, "--dir", str(repo))
    unsigned, signed = tmp_path / "unsigned.json", tmp_path / "signed.json"
    assert invoke(capsys, "plan", *args, "--out", str(unsigned)).code == 0
    monkeypatch.setenv("RECONCILER_PLAN_KEY", "the-right-key")
    assert invoke(capsys, "plan", *args, "--out", str(signed)).code == 0
    assert json.loads(signed.read_text())["signature"].startswith("hmac-sha256:")
    before = _stores(store_url)
    refused = invoke(capsys, "apply", str(unsigned), "--yes", *args)
    assert (refused.code, refused.err.splitlines()[0]) == (
        1,
        f"error: {unsigned}: saved plan is not signed, and RECONCILER_PLAN_KEY is set",
    )
    monkeypatch.setenv("RECONCILER_PLAN_KEY", "another-key")
    wrong = invoke(capsys, "apply", str(signed), "--yes", *args)
    assert wrong.code == 1
    assert "signature does not match RECONCILER_PLAN_KEY" in wrong.err
    assert _stores(store_url) == before
    monkeypatch.setenv("RECONCILER_PLAN_KEY", "the-right-key")
    assert invoke(capsys, "apply", str(signed), "--yes", *args).code == 0
    assert _stores(store_url) != before


def test_a_plan_of_uncommitted_files_applies_only_while_the_tree_holds_them(
    capsys: pytest.CaptureFixture[str], store_url: str, repo: Path, tmp_path: Path
) -> None:
    acme = repo / "clients" / "acme-dental.yaml"
    _edit(acme, "max_fields: 60", "max_fields: 75")  # not committed
    args = ("--store", store_url, "--dir", str(repo))
    plan_file = tmp_path / "plan.json"
    assert invoke(capsys, "plan", *args, "--out", str(plan_file)).code == 0
    assert len(json.loads(plan_file.read_text())["uncommitted"]) == 64  # says so, with a hash
    _edit(acme, "max_fields: 75", "max_fields: 76")
    before = _stores(store_url)
    refused = invoke(capsys, "apply", str(plan_file), "--yes", *args)
    assert refused.code == 1
    assert "the working tree no longer holds them; nothing was applied" in refused.err
    assert _stores(store_url) == before
    _edit(acme, "max_fields: 76", "max_fields: 75")  # the planned files again
    assert invoke(capsys, "apply", str(plan_file), "--yes", *args).code == 0
    assert _setting(store_url, ACME, "forms")["max_fields"] == 75
