"""The pre-commit hook and the example CI workflows: their shell steps run for real here."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator

from reconciler.live.engine import make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS
from tests.git_helpers import commit_all, git, init_repo
from tests.helpers import run_sql

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = REPO / "examples" / "github-actions"
BIN = Path(sys.executable).parent  # where the `reconciler` console script is installed
ACTIONS = {"GITHUB_ACTIONS": "true"}  # as GitHub sets it for every step
SARIF_SCHEMA = json.loads((REPO / "tests/fixtures/sarif/sarif-schema-2.1.0.json").read_text())


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def step(workflow: str, name: str) -> dict[str, Any]:
    jobs = load(WORKFLOWS / workflow)["jobs"]
    steps = [s for job in jobs.values() for s in job["steps"]]
    return next(s for s in steps if s.get("name") == name)


def test_pre_commit_hook_definition() -> None:
    hooks = load(REPO / ".pre-commit-hooks.yaml")
    assert [h["id"] for h in hooks] == ["reconciler-validate"]
    hook = hooks[0]
    assert (hook["entry"], hook["language"], hook["pass_filenames"]) == (
        "reconciler validate",
        "python",
        False,
    )
    pattern = re.compile(hook["files"])
    assert pattern.search("desired-state/clients/acme.yaml")
    assert pattern.search("desired-state/reconciler.yaml")
    assert pattern.search("modules/forms.yml")
    assert not pattern.search("README.md")
    assert not pattern.search("desired-state/notes/x.yaml")


def run_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a workflow `run:` script as GitHub does with `shell: bash`."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    full.update(env, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        check=False,
    )


def pr_checkout(tmp_path: Path) -> Path:
    """A clone of `origin` (main: the example) on a PR branch that edits one client."""
    origin = init_repo(tmp_path / "origin")
    shutil.copytree(EXAMPLE, origin / "desired-state")
    commit_all(origin, "desired state")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    git(clone, "checkout", "-q", "-b", "more-fields")
    path = clone / "desired-state" / "clients" / "acme-dental.yaml"
    path.write_text(path.read_text().replace("max_fields: 60", "max_fields: 80"))
    commit_all(clone, "acme-dental: 80 form fields")
    return clone


def test_pr_workflow_plan_step(tmp_path: Path) -> None:
    clone = pr_checkout(tmp_path)
    store = f"sqlite:///{tmp_path}/live.db"
    init(make_engine(store))
    output, summary = tmp_path / "output", tmp_path / "summary"
    validate = run_step(step("reconciler-plan.yml", "Validate")["run"], clone, ACTIONS)
    assert (validate.returncode, validate.stdout) == (0, "ok: 6 clients, 12 modules, 3 profiles\n")
    done = run_step(
        step("reconciler-plan.yml", "Plan what this pull request changes")["run"],
        clone,
        {
            "RECONCILER_STORE": store,
            "BASE_REF": "main",
            "GITHUB_OUTPUT": str(output),
            "GITHUB_STEP_SUMMARY": str(summary),
        },
    )
    assert done.returncode == 0, done.stderr
    assert output.read_text() == "changes=true\n"
    plan = (clone / "plan.md").read_text()
    assert plan == summary.read_text()
    assert plan.startswith("### module-reconciler plan\n")
    assert "- Changed since origin/main (" in plan
    assert f"<code>{EXAMPLE_IDS['acme-dental']}</code>" in plan
    assert f"<code>{EXAMPLE_IDS['bright-smiles']}</code>" not in plan


def test_drift_workflow_fails_on_drift(tmp_path: Path) -> None:
    clone = pr_checkout(tmp_path)
    store = f"sqlite:///{tmp_path}/live.db"
    init(make_engine(store))
    env = {"RECONCILER_STORE": store, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    apply = run_step("reconciler apply --yes --dir desired-state", clone, env)
    assert apply.returncode == 0, apply.stderr
    script = step("reconciler-drift.yml", "Drift report")["run"]
    in_sync = run_step(script, clone, env)
    assert in_sync.returncode == 0, in_sync.stderr
    run_sql(
        store,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["support"]', EXAMPLE_IDS["bright-smiles"]],
    )
    drifted = run_step(script, clone, env)
    assert drifted.returncode == 2
    assert '"drifted": 1' in (clone / "drift.json").read_text()
    assert "drifted" in (tmp_path / "summary").read_text()


def test_apply_on_merge_workflow_applies_the_reviewed_plan_and_reports_stale(
    tmp_path: Path,
) -> None:
    """Plan on the PR (signed artifact), apply after merge at the plan's commit; a client whose
    live state moved meanwhile is refused and listed with the re-plan command."""
    workflow = "reconciler-apply-on-merge.yml"
    clone = pr_checkout(tmp_path)
    store = f"sqlite:///{tmp_path}/live.db"
    init(make_engine(store))
    temp, summary = tmp_path / "runner-temp", tmp_path / "summary"
    env = {
        "RECONCILER_STORE": store,
        "RECONCILER_PLAN_KEY": "test-key-not-a-secret",
        "BASE_REF": "main",
        "RUNNER_TEMP": str(temp),
        "GITHUB_STEP_SUMMARY": str(summary),
        "PR": "7",
    }
    save = step(workflow, "Save the plan of this pull request")["run"]
    apply = step(workflow, "Apply the reviewed plan")["run"]
    acme = EXAMPLE_IDS["acme-dental"]

    saved = run_step(save, clone, env)
    assert saved.returncode == 0, saved.stderr
    assert '"signature"' in (temp / "reconciler" / "plan.json").read_text()
    run_sql(  # live moves after the plan: the client is stale
        store,
        "INSERT INTO client_app_overrides (client_id, modules_enabled) VALUES (%s, %s)",
        [acme, '["support"]'],
    )
    refused = run_step(apply, clone, env)
    assert refused.returncode == 1
    report = summary.read_text()
    assert "applied: 0, unchanged: 0, stale: 1, failed: 0" in report
    assert f"- `{acme}`: " in report
    assert f"reconciler plan --dir desired-state --client {acme} --out plan.json\n" in report
    assert run_sql(store, "SELECT count(*) FROM reconciler_client_modules") == [(0,)]

    summary.unlink()
    assert run_step(save, clone, env).returncode == 0  # re-planned on the PR
    git(clone, "checkout", "-q", "main")  # merged, then main moves on before the apply
    git(clone, "merge", "-q", "--no-ff", "-m", "merge PR 7", "more-fields")
    path = clone / "desired-state" / "clients" / "acme-dental.yaml"
    path.write_text(path.read_text().replace("max_fields: 80", "max_fields: 99"))
    commit_all(clone, "acme-dental: 99 form fields")
    done = run_step(apply, clone, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stale: 0, failed: 0" in summary.read_text()
    assert "Stale clients" not in summary.read_text()
    settings = run_sql(
        store,
        "SELECT settings FROM reconciler_client_modules WHERE client_id = %s AND module_id = %s",
        [acme, "forms"],
    )
    assert '"max_fields": 80' in str(settings[0][0]).replace("'", '"')  # the reviewed value


def test_pr_workflow_annotates_problems_and_uploads_sarif(tmp_path: Path) -> None:
    clone = pr_checkout(tmp_path)
    broken = clone / "desired-state" / "clients" / "acme-dental.yaml"
    broken.write_text(broken.read_text().replace("max_fields: 80", "max_fields: many"))
    validate = run_step(step("reconciler-plan.yml", "Validate")["run"], clone, ACTIONS)
    assert validate.returncode == 1
    annotation, summary = validate.stdout.splitlines()
    assert annotation.startswith(
        "::error file=desired-state/clients/acme-dental.yaml,line=9,col=19,"
    )
    assert summary == "error: 1 problem in 1 file"
    sarif = step("reconciler-plan.yml", "Validate as SARIF for code scanning")
    assert run_step(sarif["run"], clone, ACTIONS).returncode == 0
    upload = step("reconciler-plan.yml", "Upload SARIF")
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    log = json.loads((clone / upload["with"]["sarif_file"]).read_text())
    Draft4Validator(SARIF_SCHEMA).validate(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert (clone / location["artifactLocation"]["uri"]).is_file()


def test_pr_workflow_policy_annotations_step(tmp_path: Path) -> None:
    clone = pr_checkout(tmp_path)
    store = f"sqlite:///{tmp_path}/live.db"
    init(make_engine(store))
    done = run_step(
        step("reconciler-plan.yml", "Policy annotations")["run"],
        clone,
        {**ACTIONS, "RECONCILER_STORE": store, "BASE_REF": "main"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Plan for sqlite:///")  # no policy broken: the plan as text
    assert "desired-state/clients/acme-dental.yaml" in done.stdout
