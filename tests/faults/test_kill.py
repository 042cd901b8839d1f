"""kill -9 in the middle of `apply`: every client wholly before or wholly after (SPEC §5)."""

from __future__ import annotations

import json
import random
import signal
import time
from pathlib import Path

import pytest

from tests.faults.faults_helpers import (
    cli,
    client_state,
    count_run_clients,
    make_fleet,
    mark_trial,
    run_clients,
    runs,
    snapshot,
    start,
    wait_until,
)
from tests.helpers import sql_session

CLIENTS = 600  # 551 of them are written (the others use the preserve strategy)
TRIALS = 10
SEED = 20240917


@pytest.mark.slow
def test_sigkill_mid_apply_leaves_every_client_before_or_after(
    store_url: str, tmp_path: Path
) -> None:
    desired, ids = make_fleet(store_url, tmp_path / "fleet", CLIENTS)
    store = ["--store", store_url, "--dir", str(desired)]
    rng = random.Random(SEED)
    partial_trials = 0
    with sql_session(store_url) as poll:  # one connection for the polls
        for trial in range(1, TRIALS + 1):
            mark_trial(desired, trial)
            before = snapshot(store_url)
            committed_before = count_run_clients(store_url)
            runs_before = runs(store_url)

            victim = start(tmp_path, f"kill-{trial}", "apply", "--yes", "--force", *store)
            if trial % 5 == 0:  # a random time from the start: planning, catalog sync, run row
                time.sleep(rng.uniform(0.0, 2.0))
            else:  # the others once a random number of clients has committed
                goal = committed_before + rng.randrange(1, 400)  # a while before the last client
                reached = lambda g=goal: count_run_clients(store_url, poll) >= g  # noqa: E731
                wait_until(reached, victim.proc, 0.002)
            victim.proc.send_signal(signal.SIGKILL)
            code, _out, _err = victim.wait()
            assert code in (-signal.SIGKILL, 0), _err  # 0: it finished before the signal

            middle = snapshot(store_url)
            killed_runs = [r for r in runs(store_url) if r not in runs_before]
            rerun = cli("apply", "--yes", "--force", "--format", "json", *store)
            assert rerun.returncode == 0, rerun.stderr
            after = snapshot(store_url)

            # Wholly before or wholly after, per client; and after differs from before for all.
            changed = {c for c in ids if client_state(before, c) != client_state(after, c)}
            assert len(changed) >= 500
            done = set()
            for cid in ids:
                state = client_state(middle, cid)
                assert state in (client_state(before, cid), client_state(after, cid)), cid
                if cid in changed and state == client_state(after, cid):
                    done.add(cid)
            # History claims exactly the clients the killed run committed, no more, no fewer.
            claimed = {c for run_id, _, _ in killed_runs for c in run_clients(store_url, run_id)}
            assert claimed == done
            rerun_id = rerun_json_run(rerun.stdout)
            finished = set() if rerun_id is None else set(run_clients(store_url, rerun_id))
            assert finished == changed - done
            if 0 < len(done) < len(changed):
                partial_trials += 1
            if trial in (1, TRIALS):
                assert_converged(store)
    assert partial_trials >= TRIALS // 2  # the kills really landed mid-run


def assert_converged(store: list[str]) -> None:
    """A new plan writes nothing: only the preserve clients' informational differences."""
    converged = cli("plan", "--detailed-exitcode", "--format", "json", *store)
    assert converged.returncode == 0, converged.stdout + converged.stderr
    plan = json.loads(converged.stdout)
    assert [c for c in plan["clients"] if c["writes"]] == []


def rerun_json_run(stdout: str) -> int | None:
    """The run id of a successful `apply --format json` (None: there was nothing to do)."""
    report = json.loads(stdout)
    assert report["ok"] is True
    return None if report["run_id"] is None else int(report["run_id"])
