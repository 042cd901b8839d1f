"""Old code writing client_app_overrides during a run: refused as stale, never overwritten."""

from __future__ import annotations

import json
import random
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.faults.faults_helpers import (
    assert_clean_stderr,
    cli,
    make_fleet,
    mark_trial,
    start,
    wait_until,
)
from tests.helpers import is_pg, raw_connect, run_sql, sql_session

STALE = "live state changed since the plan (stale)"


def _theme(url: str, cid: str) -> object:
    (value,) = run_sql(
        url, "SELECT theme_overrides FROM client_app_overrides WHERE client_id = %s", [cid]
    )[0]
    return json.loads(value) if isinstance(value, str) else value


def _old_code_update(url: str) -> str:
    """What the original application does: a plain UPDATE of the JSON column."""
    sql = "UPDATE client_app_overrides SET theme_overrides = %s WHERE client_id = %s"
    return sql if is_pg(url) else sql.replace("%s", "?")


@pytest.mark.pg
def test_write_waiting_on_old_code_row_lock_is_refused_as_stale(
    pg_store: str, tmp_path: Path
) -> None:
    """The old code's UPDATE holds the row while apply reaches that client: apply must not
    overwrite what it commits (PostgreSQL READ COMMITTED would re-run a plain UPDATE on it)."""
    desired, ids = make_fleet(pg_store, tmp_path / "fleet", 60)
    store = ["--store", pg_store, "--dir", str(desired)]
    assert cli("apply", "--yes", "--force", *store).returncode == 0
    mark_trial(desired, 1)
    victim = sorted(ids)[7]
    oob_theme = {"primary_color": "#000000", "written_by": "old code"}
    with closing(raw_connect(pg_store)) as old:
        old.autocommit = False
        old.execute(_old_code_update(pg_store), [json.dumps(oob_theme), victim])
        old_pid = old.info.backend_pid
        apply = start(tmp_path, "apply", "apply", "--yes", "--force", *store)
        waiting = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> %s"
        )
        with sql_session(pg_store) as poll:  # one connection for every poll
            assert wait_until(lambda: poll(waiting, [old_pid])[0][0] > 0, apply.proc, 0.01)
        old.commit()
    code, out, err = apply.wait()
    assert code == 1, out + err
    assert f"error: client {victim}: {STALE}" in err
    assert_clean_stderr(err, allowed=[STALE])
    assert _theme(pg_store, victim) == oob_theme
    replan = json.loads(cli("plan", "--format", "json", *store).stdout)
    assert [c["client_id"] for c in replan["clients"] if c["writes"]] == [victim]


@pytest.mark.slow
def test_old_code_writing_during_a_run_is_never_overwritten(store_url: str, tmp_path: Path) -> None:
    """A thread of old-code UPDATEs during a run: each client it wrote ends with its last
    write (apply refused it as stale, or the write came after apply's commit)."""
    desired, ids = make_fleet(store_url, tmp_path / "fleet", 400)
    store = ["--store", store_url, "--dir", str(desired)]
    assert cli("apply", "--yes", "--force", *store).returncode == 0
    written = [
        c
        for c in ids
        if run_sql(store_url, "SELECT 1 FROM client_app_overrides WHERE client_id = %s", [c])
    ]
    mark_trial(desired, 1)
    plan_file = tmp_path / "plan.json"  # planned before old code starts writing
    assert cli("plan", "--out", str(plan_file), *store).returncode == 0
    last: dict[str, dict[str, object]] = {}
    stop = threading.Event()
    rng = random.Random(5)

    def old_code() -> None:
        with closing(raw_connect(store_url)) as conn:
            n = 0
            while not stop.is_set():
                cid, n = rng.choice(written), n + 1
                theme = {"written_by": "old code", "n": n}
                conn.execute("BEGIN IMMEDIATE" if not is_pg(store_url) else "BEGIN")
                conn.execute(_old_code_update(store_url), [json.dumps(theme), cid])
                time.sleep(0.003)  # hold the row a moment, as a slow request would
                conn.execute("COMMIT")
                last[cid] = theme
                time.sleep(0.01)  # requests come and go; a writer that never lets go is
                # test_sqlite_locked.py's case

    thread = threading.Thread(target=old_code)
    thread.start()
    try:
        result = cli("apply", str(plan_file), "--force", "--format", "json", *store)
    finally:
        stop.set()
        thread.join()
    assert last  # old code did write during the run
    report = json.loads(result.stdout)
    assert_clean_stderr(result.stderr, allowed=[STALE])
    outcomes = {c["client_id"]: c["outcome"] for c in report["clients"]}
    assert set(outcomes.values()) <= {"applied", "stale"}
    assert result.returncode == (0 if "stale" not in outcomes.values() else 1)
    for cid, theme in last.items():
        assert _theme(store_url, cid) == theme, (cid, outcomes.get(cid))
