"""`reconciler rollout`: waves applied in order, gated by a real HTTP endpoint and a real command;
a failing canary reverted exactly; pause and resume; revert_all; abort (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import invoke
from tests.faults.faults_helpers import runs, snapshot
from tests.helpers import run_sql
from tests.rollout_helpers import (
    IDS,
    demo_tree,
    health_server,
    linked_runs,
    mark_unhealthy,
    rollout_waves,
    three_waves,
)

CANARY = sorted([IDS["acme-dental"], IDS["bright-smiles"]])
GROWTH = sorted([IDS["northwind-clinic"], IDS["summit-health"]])
EVERYONE = sorted([IDS["harbor-physio"], IDS["lakeside-vets"]])


def _args(store: str, desired: Path) -> list[str]:
    return ["--store", store, "--dir", str(desired)]


def _plan_is_empty(capsys: pytest.CaptureFixture[str], store: str, desired: Path) -> None:
    planned = invoke(capsys, "plan", *_args(store, desired), "--format", "json")
    assert planned.code == 0, planned.err
    assert [
        c for c in planned.json()["clients"] if any(not x["informational"] for x in c["changes"])
    ] == []


def test_plan_lists_waves_clients_and_unselected(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        rollout = three_waves(health.url).replace("{percent: 100}", "{clients: [harbor-*]}")
        desired = demo_tree(capsys, store_url, tmp_path, rollout)
        result = invoke(capsys, "rollout", *_args(store_url, desired), "--format", "json")
    assert (result.code, result.err) == (0, "")
    data = result.json()
    assert [(w["name"], w["clients"]) for w in data["waves"]] == [
        ("canary", CANARY),
        ("growth", GROWTH),
        ("everyone", [IDS["harbor-physio"]]),
    ]
    assert data["unselected"] == [IDS["lakeside-vets"]]
    assert data["waves"][0]["summary"]["clients_changed"] == 2
    text = invoke(capsys, "rollout", *_args(store_url, desired))
    assert "Wave 1 canary: 2 clients, 2 with changes" in text.out
    assert "Not selected by any wave (not applied): lakeside-vets" in text.out
    markdown = invoke(capsys, "rollout", *_args(store_url, desired), "--format", "markdown")
    assert markdown.out.startswith("### module-reconciler rollout plan\n")
    assert run_sql(store_url, "SELECT count(*) FROM reconciler_rollouts") == [(0,)]
    assert runs(store_url) == []


def test_passing_rollout_applies_every_wave_in_order(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        desired = demo_tree(capsys, store_url, tmp_path, three_waves(health.url))
        result = invoke(capsys, "rollout", "--yes", *_args(store_url, desired), "--format", "json")
        assert result.code == 0, result.err
        checked = sorted(set(health.seen))
    data = result.json()
    assert data["state"] == "done"
    assert [(w["name"], w["state"], w["clients"]) for w in data["waves"]] == [
        ("canary", "passed", CANARY),
        ("growth", "passed", GROWTH),
        ("everyone", "passed", EVERYONE),
    ]
    assert checked == sorted(CANARY + GROWTH)  # the last wave has no gate
    linked = linked_runs(store_url)
    assert [(wave, purpose, kind) for _, wave, purpose, kind, _ in linked] == [
        (0, "apply", "apply"),
        (1, "apply", "apply"),
        (2, "apply", "apply"),
    ]
    assert [r[0] for r in linked] == [r[0] for r in runs(store_url)]  # every run is linked
    for run_id, wave, *_ in linked:
        claimed = {
            str(r[0])
            for r in run_sql(
                store_url,
                "SELECT client_id FROM reconciler_run_clients WHERE run_id = %s",
                [run_id],
            )
        }
        assert claimed <= set([CANARY, GROWTH, EVERYONE][wave])
    gates = data["waves"][0]["gate"]
    assert len(gates) == 4
    assert all(g["ok"] and g["attempts"] == 1 for g in gates)
    _plan_is_empty(capsys, store_url, desired)
    assert (
        "passed    Wave 1 canary: 2 clients; apply run(s) 1"
        in invoke(capsys, "rollout", "status", "1", "--store", store_url).out
    )


def test_failing_canary_is_reverted_exactly_and_later_waves_never_applied(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        desired = demo_tree(capsys, store_url, tmp_path, three_waves(health.url))
        before = snapshot(store_url)
        health.failing.add(IDS["bright-smiles"])
        result = invoke(capsys, "rollout", "--yes", *_args(store_url, desired), "--format", "json")
        assert result.code == 1
        assert snapshot(store_url) == before  # both stores, read back with plain SQL
        data = result.json()
        assert data["state"] == "failed"
        assert [w["state"] for w in data["waves"]] == ["reverted", "pending", "pending"]
        assert data["waves"][0]["failed_clients"] == [IDS["bright-smiles"]]
        failing = [g for g in data["waves"][0]["gate"] if not g["ok"]]
        assert [(g["client_id"], g["attempts"]) for g in failing] == [(IDS["bright-smiles"], 2)]
        assert failing[0]["error"] == (
            f"http://127.0.0.1:{health.port}/health/{IDS['bright-smiles']} answered HTTP 503, "
            "expected 200"
        )
        assert [(w, p, k, rev) for _, w, p, k, rev in linked_runs(store_url)] == [
            (0, "apply", "apply", None),
            (0, "revert", "revert", 1),
        ]
        assert "error: rollout 1 failed: wave canary: gate failed: 1 of 2 client(s)" in result.err
        assert "hint: `reconciler rollout resume 1` continues it" in result.err

        # Fixed, then resumed: the canary is applied again and the rollout finishes.
        health.failing.clear()
        resumed = invoke(capsys, "rollout", "resume", "1", *_args(store_url, desired))
    assert resumed.code == 0, resumed.err
    assert "Rollout 1: done" in resumed.out
    assert [w["state"] for w in rollout_waves(store_url)] == ["passed"] * 3
    _plan_is_empty(capsys, store_url, desired)


def test_revert_all_restores_every_applied_wave(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        desired = demo_tree(capsys, store_url, tmp_path, three_waves(health.url))
        before = snapshot(store_url)
        mark_unhealthy(desired, "summit-health")  # the command check fails in wave 2
        result = invoke(capsys, "rollout", "--yes", *_args(store_url, desired), "--format", "json")
    assert result.code == 1
    assert snapshot(store_url) == before
    assert [w["state"] for w in result.json()["waves"]] == ["reverted", "reverted", "pending"]
    assert [(w, p, rev) for _, w, p, _, rev in linked_runs(store_url)] == [
        (0, "apply", None),
        (1, "apply", None),
        (1, "revert", 2),  # newest first
        (0, "revert", 1),
    ]
    failing = [g for g in result.json()["waves"][1]["gate"] if not g["ok"]]
    assert [g["error"] for g in failing] == [
        f"exit code 1: smoke test failed for {IDS['summit-health']}"
    ]


def test_pause_stops_and_resume_continues(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        rollout = three_waves(health.url, canary_failure="pause")
        desired = demo_tree(capsys, store_url, tmp_path, rollout)
        mark_unhealthy(desired, "acme-dental")
        paused = invoke(capsys, "rollout", "--yes", *_args(store_url, desired))
        assert paused.code == 1
        assert "Rollout 1: paused" in paused.out
        assert [w["state"] for w in rollout_waves(store_url)] == ["paused", "pending", "pending"]
        assert [p for _, _, p, _, _ in linked_runs(store_url)] == ["apply"]  # not reverted
        other = invoke(capsys, "rollout", "--yes", *_args(store_url, desired))
        assert other.code == 1
        assert "error: rollout 1 is not finished" in other.err

        mark_unhealthy(desired)  # fixed
        resumed = invoke(capsys, "rollout", "resume", "1", *_args(store_url, desired))
    assert resumed.code == 0, resumed.err
    assert [w["state"] for w in rollout_waves(store_url)] == ["passed"] * 3
    assert [(w, p) for _, w, p, _, _ in linked_runs(store_url)] == [
        (0, "apply"),  # the canary was not applied again
        (1, "apply"),
        (2, "apply"),
    ]
    again = invoke(capsys, "rollout", "resume", "1", *_args(store_url, desired))
    assert again.code == 1
    assert "error: rollout 1 is done; only a running, paused or failed rollout" in again.err


def test_abort_leaves_a_coherent_history(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        desired = demo_tree(
            capsys, store_url, tmp_path, three_waves(health.url, canary_failure="pause")
        )
        before = snapshot(store_url)
        health.not_ok.add(IDS["acme-dental"])
        assert invoke(capsys, "rollout", "--yes", *_args(store_url, desired)).code == 1
        aborted = invoke(
            capsys, "rollout", "abort", "1", "--revert", "--store", store_url, "--format", "json"
        )
    assert aborted.code == 0, aborted.err
    data = aborted.json()
    assert data["state"] == "aborted"
    assert data["finished_at"] is not None
    assert [w["state"] for w in data["waves"]] == ["reverted", "pending", "pending"]
    assert snapshot(store_url) == before
    assert [(k, s) for _, k, s in runs(store_url)] == [("apply", "done"), ("revert", "done")]
    failing = [g for g in data["waves"][0]["gate"] if not g["ok"]]
    assert failing[0]["error"].endswith("$.ok is false, expected true")
    refused = invoke(capsys, "rollout", "resume", "1", *_args(store_url, desired))
    assert refused.code == 1
    assert "rollout 1 is aborted" in refused.err
    listing = invoke(capsys, "rollout", "status", "--store", store_url)
    assert "   1  aborted " in listing.out


def test_unreachable_health_url_counts_as_failure(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        closed = health.url
    desired = demo_tree(capsys, store_url, tmp_path, three_waves(closed))
    before = snapshot(store_url)
    result = invoke(capsys, "rollout", "--yes", *_args(store_url, desired), "--format", "json")
    assert result.code == 1
    assert snapshot(store_url) == before
    errors = {g["error"] for g in result.json()["waves"][0]["gate"] if not g["ok"]}
    assert len(errors) == 2
    assert all("unreachable: [Errno 111] Connection refused" in e for e in errors)


def test_force_needs_a_reason(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    desired = demo_tree(capsys, store_url, tmp_path, three_waves("http://127.0.0.1:9/{client_id}"))
    result = invoke(capsys, "rollout", "--yes", "--force", *_args(store_url, desired))
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: --force needs --reason\nhint: say why the safety thresholds are overridden\n"
    )


def test_safety_applies_per_wave_and_force_needs_its_reason(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with health_server() as health:
        desired = demo_tree(capsys, store_url, tmp_path, three_waves(health.url))
        monkeypatch.chdir(desired)  # problems are shown relative to the cwd
        settings = desired / "reconciler.yaml"
        settings.write_text(
            settings.read_text().replace("max_clients_changed: 50", "max_clients_changed: 1")
        )
        before = snapshot(store_url)
        args = ["--store", store_url, "--dir", str(desired)]
        refused = invoke(capsys, "rollout", "--yes", *args)
        assert (refused.code, refused.out) == (1, "")
        assert refused.err == (
            "reconciler.yaml: $.safety.max_clients_changed: wave canary: 2 clients would "
            "change, limit is 1\n"
            "reconciler.yaml: $.safety.max_clients_changed: wave growth: 2 clients would "
            "change, limit is 1\n"
            "error: rollout refused before any write: 2 safety check(s) failed\n"
            "hint: review `reconciler rollout`; rerun with --force --reason to proceed\n"
        )
        assert snapshot(store_url) == before
        assert run_sql(store_url, "SELECT count(*) FROM reconciler_rollouts") == [(0,)]
        planned = invoke(capsys, "rollout", *args, "--format", "json")
        assert [len(w["safety"]) for w in planned.json()["waves"]] == [1, 1, 0]
        forced = invoke(capsys, "rollout", "--yes", "--force", "--reason", "drill", *args)
    assert forced.code == 0, forced.err
    reasons = run_sql(store_url, "SELECT DISTINCT reason FROM reconciler_runs")
    assert reasons == [("drill",)]


def test_labels_select_and_selection_is_sticky_when_clients_are_added(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    rollout = (
        "\nrollout:\n  waves:\n"
        "    - name: eu\n      select: {labels: {region: eu-*}}\n"
        "    - name: half\n      select: {percent: 50}\n"
        "    - name: rest\n      select: {percent: 100}\n"
    )
    desired = demo_tree(capsys, store_url, tmp_path, rollout)
    vets = desired / "clients" / "lakeside-vets.yaml"
    vets.write_text(vets.read_text() + "labels:\n  region: eu-west\n")
    args = ["--store", store_url, "--dir", str(desired), "--format", "json"]
    first = invoke(capsys, "rollout", *args)
    assert first.code == 0, first.err
    waves = [w["clients"] for w in first.json()["waves"]]
    assert waves[0] == [IDS["lakeside-vets"]]
    assert invoke(capsys, "rollout", *args).json()["waves"] == first.json()["waves"]
    for n in range(20):  # new clients never move the existing ones to another wave
        (desired / "clients" / f"new-{n}.yaml").write_text(
            f"client_id: 00000000-0000-4000-8000-{n:012d}\nname: new-{n}\n"
        )
    grown = [set(w["clients"]) for w in invoke(capsys, "rollout", *args).json()["waves"]]
    assert [set(w) & set(grown[i]) for i, w in enumerate(waves)] == [set(w) for w in waves]
    assert sum(len(w) for w in grown) == 26
