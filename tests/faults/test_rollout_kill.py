"""kill -9 of `rollout --yes` while a wave bakes or is being checked, then `rollout resume`:
the rollout finishes and no wave is applied twice (issue 14)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.cli.cli_helpers import invoke
from tests.faults.faults_helpers import (
    cli,
    count_run_clients,
    make_fleet,
    run_clients,
    start,
    wait_until,
)
from tests.helpers import run_sql, sql_session
from tests.rollout_helpers import (
    IDS,
    demo_tree,
    health_server,
    linked_runs,
    rollout_waves,
    three_waves,
)


def _state(store: str) -> list[str]:
    if not run_sql(store, "SELECT count(*) FROM reconciler_rollouts")[0][0]:
        return []
    return [w["state"] for w in rollout_waves(store)]


@pytest.mark.parametrize("moment", ["baking", "checking"])
def test_kill_then_resume_applies_no_wave_twice(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path, moment: str
) -> None:
    with health_server() as health:
        bake = 30 if moment == "baking" else 0
        desired = demo_tree(capsys, store_url, tmp_path, three_waves(health.url, bake=bake))
        if moment == "checking":  # the canary's health requests hang until released
            health.blocking.add(IDS["acme-dental"])
        args = ["--store", store_url, "--dir", str(desired)]
        victim = start(tmp_path, "rollout", "rollout", "--yes", *args)
        reached = wait_until(lambda: _state(store_url)[:1] == [moment], victim.proc, 0.02)
        assert reached, victim.err.read_text()
        victim.proc.send_signal(signal.SIGKILL)
        code, _, err = victim.wait()
        assert code == -signal.SIGKILL, err
        assert _state(store_url) == [moment, "pending", "pending"]
        assert [(w, p) for _, w, p, _, _ in linked_runs(store_url)] == [(0, "apply")]

        health.blocking.clear()
        health.release.set()
        if moment == "baking":  # what is left of 30 s would be waited: shorten it in the row
            _shorten_bake(store_url)
        resumed = cli("rollout", "resume", "1", *args, "--format", "json")
    assert resumed.returncode == 0, resumed.stderr
    assert [(w, p) for _, w, p, _, _ in linked_runs(store_url)] == [
        (0, "apply"),
        (1, "apply"),
        (2, "apply"),
    ]
    assert _state(store_url) == ["passed"] * 3
    planned = invoke(capsys, "plan", *args, "--format", "json")
    writes = [
        c for c in planned.json()["clients"] if any(not x["informational"] for x in c["changes"])
    ]
    assert writes == []


def _shorten_bake(store: str) -> None:
    """Backdate the canary's bake start, as if the bake time had passed while it was down."""
    waves = rollout_waves(store)
    waves[0]["since"] = "2000-01-01T00:00:00+00:00"
    run_sql(store, "UPDATE reconciler_rollouts SET waves = %s WHERE id = 1", [json.dumps(waves)])


@pytest.mark.slow
def test_kill_while_applying_then_resume_writes_no_client_twice(
    store_url: str, tmp_path: Path
) -> None:
    desired, _ = make_fleet(store_url, tmp_path / "fleet", 400)
    with (desired / "reconciler.yaml").open("a") as f:
        f.write(
            "\nrollout:\n  waves:\n    - name: big\n      select: {percent: 60}\n"
            "    - name: rest\n      select: {percent: 100}\n"
        )
    args = ["--store", store_url, "--dir", str(desired)]
    assert cli("init", "--store", store_url).returncode == 0
    with sql_session(store_url) as poll:  # one connection for every poll
        victim = start(tmp_path, "rollout", "rollout", "--yes", "--force", "--reason", "t", *args)
        reached = wait_until(lambda: count_run_clients(store_url, poll) >= 20, victim.proc, 0.002)
    assert reached, victim.err.read_text()
    victim.proc.send_signal(signal.SIGKILL)
    victim.wait()
    assert _state(store_url)[0] == "applying"
    resumed = cli("rollout", "resume", "1", *args)
    assert resumed.returncode == 0, resumed.stderr
    linked = linked_runs(store_url)
    first_wave = [run_id for run_id, wave, *_ in linked if wave == 0]
    assert len(first_wave) == 2  # the killed run, and one finishing what it had not written
    killed, finishing = (set(run_clients(store_url, r)) for r in first_wave)
    assert killed
    assert finishing
    assert not killed & finishing  # no client written twice
    assert [w for _, w, p, _, _ in linked if p == "apply"] == [0, 0, 1]
    assert run_sql(
        store_url, "SELECT status FROM reconciler_runs WHERE id = %s", [first_wave[0]]
    ) == [("partial",)]
    assert _state(store_url) == ["passed", "passed"]


def test_two_rollouts_started_at_once_one_is_refused(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        desired = demo_tree(capsys, store_url, tmp_path, three_waves(health.url, bake=1))
        args = ["rollout", "--yes", "--store", store_url, "--dir", str(desired)]
        both = [start(tmp_path, f"r{n}", *args) for n in (1, 2)]
        results = sorted(r.wait() for r in both)
    assert [code for code, _, _ in results] == [0, 1]
    assert "error: rollout 1 is not finished" in results[1][2]
    assert run_sql(store_url, "SELECT id, state FROM reconciler_rollouts") == [(1, "done")]
    assert [w for _, w, _, _, _ in linked_runs(store_url)] == [0, 1, 2]
