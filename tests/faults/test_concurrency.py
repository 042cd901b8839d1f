"""Four processes applying overlapping clients at once (SPEC §5: serialised per client)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from reconciler import api
from reconciler.live.engine import make_engine
from reconciler.live.locks import catalog_transaction
from reconciler.live.registry import sync_catalog
from tests.faults.faults_helpers import (
    assert_clean_stderr,
    cli,
    make_fleet,
    run_sql,
    start,
)

STALE = "live state changed since the plan (stale)"


@pytest.mark.slow
def test_four_overlapping_applies_write_each_client_once(store_url: str, tmp_path: Path) -> None:
    desired, ids = make_fleet(store_url, tmp_path / "fleet", 300)
    store = ["--store", store_url, "--dir", str(desired), "--format", "json"]
    plan_file = tmp_path / "plan.json"
    assert cli("plan", "--out", str(plan_file), *store).returncode == 0
    every_third = [arg for cid in sorted(ids)[::3] for arg in ("--client", cid)]
    commands = {
        "saved-a": ["apply", str(plan_file), "--force", *store],
        "saved-b": ["apply", str(plan_file), "--force", *store],
        "thirds": ["apply", "--yes", "--force", *every_third, *store],
        "shard": ["apply", "--yes", "--force", "--shard", "1/2", *store],
    }
    procs = {name: start(tmp_path, name, *args) for name, args in commands.items()}
    applied: Counter[str] = Counter()
    for name, proc in procs.items():
        code, out, err = proc.wait(timeout=300)  # no deadlock: every process ends
        assert_clean_stderr(err, allowed=[STALE])
        report = json.loads(out)
        outcomes = Counter(c["outcome"] for c in report["clients"])
        assert set(outcomes) <= {"applied", "stale", "unchanged"}, (name, outcomes)
        assert code == (1 if outcomes["stale"] else 0), (name, err[-500:])
        assert report["ok"] is (code == 0)
        applied.update(c["client_id"] for c in report["clients"] if c["outcome"] == "applied")
        stale = [c["client_id"] for c in report["clients"] if c["outcome"] == "stale"]
        assert [line for line in err.splitlines() if line.startswith("error: ")] == [
            f"error: client {cid}: {STALE} (run `reconciler plan` again and apply the new plan)"
            for cid in stale
        ] or stale == []
    # Every written client was written by exactly one process: no plan applied twice.
    assert set(applied.values()) == {1}
    history = Counter(
        str(r[0]) for r in run_sql(store_url, "SELECT client_id FROM reconciler_run_clients")
    )
    assert history == applied
    replan = json.loads(cli("plan", *store).stdout)
    assert [c["client_id"] for c in replan["clients"] if c["writes"]] == []  # no lost update


def test_an_apply_waits_for_another_process_syncing_the_catalog(
    store_url: str, tmp_path: Path
) -> None:
    """Both applies find the catalog empty; the second must wait, not fail with a duplicate key
    (PostgreSQL) or `database is locked` (SQLite: a reader that cannot become a writer)."""
    desired, ids = make_fleet(store_url, tmp_path / "fleet", 5)
    planned = api.plan(store_url, str(desired))
    synced = threading.Event()

    def other_apply_syncing() -> None:
        with catalog_transaction(make_engine(store_url)) as conn:
            sync_catalog(conn, planned.catalog)
            synced.set()
            time.sleep(1.0)  # still uncommitted while this apply starts

    other = threading.Thread(target=other_apply_syncing)
    other.start()
    assert synced.wait(30)
    try:
        report = api.apply(store_url, planned, force=True)
    finally:
        other.join()
    assert report.ok
    written = sorted(c.client_id for c in planned.clients if c.writes)
    assert written
    assert set(written) <= set(ids)
    assert sorted(c.client_id for c in report.results if c.outcome == "applied") == written
    rows = run_sql(store_url, "SELECT id FROM reconciler_modules ORDER BY id")
    assert [r[0] for r in rows] == sorted(planned.catalog)
