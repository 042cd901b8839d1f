"""`plan` and `apply` through the CLI: formats, exit codes, saved plans, confirmation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.live.engine import display_url
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke, saved_plan
from tests.helpers import add_clients, legacy_rows, registry_rows, run_sql

GOLDEN = Path(__file__).parents[1] / "render" / "golden"
BRIGHT = EXAMPLE_IDS["bright-smiles"]
ACME = EXAMPLE_IDS["acme-dental"]


@pytest.fixture
def demo(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """The example desired state against the `init --demo` live state."""
    desired = str(copy_example(tmp_path))
    add_clients(store_url, EXAMPLE_IDS.values())
    from reconciler.live.demo import seed_demo
    from reconciler.live.engine import make_engine

    seed_demo(make_engine(store_url))
    return store_url, desired


def golden(name: str, text: str, store_url: str) -> None:
    expected = (GOLDEN / name).read_text().replace("{store}", display_url(store_url))
    assert text == expected


def test_plan_text_and_markdown_match_golden(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, desired = demo
    monkeypatch.chdir(Path(desired).parent)  # client files are shown relative to the cwd
    text = invoke(capsys, "plan", "--store", store, "--dir", desired)
    assert (text.code, text.err) == (0, "")
    golden("plan.txt", text.out, store)
    markdown = invoke(capsys, "plan", "--store", store, "--dir", desired, "--format", "markdown")
    assert markdown.code == 0
    golden("plan.md", markdown.out, store)


def test_plan_json_is_stable_and_masks_secrets(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    result = invoke(
        capsys,
        "plan",
        "--store",
        store,
        "--dir",
        desired,
        "--format",
        "json",
        "--detailed-exitcode",
    )
    assert result.code == 2
    plan = result.json()
    assert sorted(plan) == [
        "clients",
        "desired_commit",
        "desired_root",
        "format_version",
        "kind",
        "policy_violations",  # the example's guard-rails.yaml warns on one switch-off
        "store",
        "summary",
    ]
    assert plan["summary"] == {
        "clients_changed": 5,
        "clients_unchanged": 0,
        "informational": 32,  # a preserved adoption is one change less than enable + version
        "modules_adopted": 8,  # only the legacy list had them: the registry adopts them
        "modules_renamed": 0,
        "modules_disabled": 1,
        "modules_enabled": 28,
        "modules_updated": 32,
        "overrides_changed": 27,
    }
    secret = [c for client in plan["clients"] for c in client["changes"] if c["sensitive"]]
    assert {(c["module"], tuple(c["path"]), c["new"]) for c in secret} == {
        ("integrations", ("api_key",), "(sensitive)"),
        ("email-integration", ("smtp", "smtp_password"), "(sensitive)"),
    }
    assert "placeholder-not-a-secret" not in result.out


def test_detailed_exitcode_zero_when_no_changes(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    assert invoke(capsys, "apply", "--yes", "--store", store, "--dir", desired).code == 0
    again = invoke(capsys, "plan", "--store", store, "--dir", desired, "--detailed-exitcode")
    assert again.code == 0
    assert again.out.endswith(
        "Plan: 0 clients to change, 4 unchanged: 0 modules to enable, 0 to disable, 0 to update, 0 override paths; 32 informational (preserve)\n"
    )


def test_apply_without_yes_and_without_tty_refuses(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    before = legacy_rows(store), registry_rows(store)
    result = invoke(capsys, "apply", "--store", store, "--dir", desired)
    assert result.code == 1
    assert result.out == ""
    assert result.err.endswith(
        "error: refusing to apply without confirmation\nhint: pass --yes to apply non-interactively\n"
    )
    assert (legacy_rows(store), registry_rows(store)) == before


def test_saved_plan_refuses_only_the_client_changed_out_of_band(
    demo: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    plan_file = tmp_path / "plan.json"
    saved = invoke(capsys, "plan", "--store", store, "--dir", desired, "--out", str(plan_file))
    assert saved.code == 0
    assert "placeholder-not-a-secret" not in plan_file.read_text()
    run_sql(
        store,
        "UPDATE client_app_overrides SET theme_overrides = %s WHERE client_id = %s",
        ['{"primary_color": "#000"}', BRIGHT],
    )
    bright_before = [r for r in legacy_rows(store) if r["client_id"] == BRIGHT]
    result = invoke(
        capsys, "apply", str(plan_file), "--store", store, "--dir", desired, "--format", "json"
    )
    assert result.code == 1
    outcomes = {c["client_id"]: c["outcome"] for c in result.json()["clients"]}
    assert outcomes == {cid: "stale" if cid == BRIGHT else "applied" for cid in outcomes}
    assert len(outcomes) == 5
    assert f"error: client {BRIGHT}: live state changed since the plan (stale)" in result.err
    assert [r for r in legacy_rows(store) if r["client_id"] == BRIGHT] == bright_before
    replan = invoke(capsys, "plan", "--store", store, "--dir", desired, "--format", "json").json()
    assert [
        c["client_id"]
        for c in replan["clients"]
        if any(not x["informational"] for x in c["changes"])
    ] == [BRIGHT]


def test_saved_plan_refused_when_desired_changed(
    demo: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    plan_file = tmp_path / "plan.json"
    assert (
        invoke(
            capsys,
            "plan",
            "--store",
            store,
            "--dir",
            desired,
            "--out",
            str(plan_file),
            "--client",
            ACME,
        ).code
        == 0
    )
    path = Path(desired) / "clients" / "acme-dental.yaml"
    path.write_text(path.read_text().replace("#0a7cff", "#123456"))
    result = invoke(capsys, "apply", str(plan_file), "--store", store, "--dir", desired)
    assert result.code == 1
    assert f"client {ACME}: desired state changed since the plan was saved" in result.err
    assert all(r["client_id"] != ACME or r["theme_overrides"] is None for r in legacy_rows(store))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t[: len(t) // 2], "not a saved plan (invalid JSON"),
        (
            lambda t: t.replace('"format_version": 1', '"format_version": 2'),
            "saved plan format_version 2 is not supported (this reconciler reads 1)",
        ),
        (
            lambda t: t.replace('"strategy": "merge"', '"strategy": "replace"', 1),
            "saved plan checksum mismatch: it was edited or damaged",
        ),
        (lambda t: "[]", "not a saved plan (kind is not 'reconciler-plan')"),
    ],
)
def test_damaged_plan_files_are_refused(
    demo: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], edit, message: str
) -> None:
    store, desired = demo
    plan_file = saved_plan(capsys, store, desired, tmp_path)
    plan_file.write_text(edit(plan_file.read_text()))
    before = legacy_rows(store), registry_rows(store)
    result = invoke(capsys, "apply", str(plan_file), "--store", store, "--dir", desired)
    assert result.code == 1
    assert message in result.err
    assert "Traceback" not in result.err
    assert (legacy_rows(store), registry_rows(store)) == before


def test_plan_for_another_store_is_refused(
    demo: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    plan_file = saved_plan(capsys, store, desired, tmp_path)
    other = f"sqlite:///{tmp_path}/other.db"
    result = invoke(capsys, "apply", str(plan_file), "--store", other, "--dir", desired)
    assert result.code == 1
    assert f"was made for store {display_url(store)}, not {other}" in result.err


def test_unknown_client_and_bad_shard_are_clear_errors(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    unknown = invoke(capsys, "plan", "--store", store, "--dir", desired, "--client", "nope")
    assert (unknown.code, unknown.out) == (1, "")
    assert unknown.err.startswith("error: client(s) not in the desired state: nope\n")
    shard = invoke(capsys, "plan", "--store", store, "--dir", desired, "--shard", "3/2")
    assert (shard.code, shard.out) == (1, "")
    assert (
        shard.err
        == "error: invalid --shard '3/2'\nhint: use K/N with 1 <= K <= N, e.g. --shard 2/8 for the second of eight workers\n"
    )
    json.dumps(shard.err)
