"""Another process keeps SQLite's write lock past the busy timeout during a run: the run stops
with one clear error instead of waiting the timeout out again for every client (SPEC §5)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from reconciler import api
from reconciler.errors import ConnectionLost
from reconciler.live import engine as engine_module
from reconciler.live.engine import dispose_engine, make_engine
from reconciler.live.migrate import init
from tests.faults.faults_helpers import client_state, make_fleet, run_clients, runs, snapshot


def test_write_lock_held_past_the_timeout_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 300)
    url = f"sqlite:///{tmp_path}/locked.db"
    init(make_engine(url))
    desired, ids = make_fleet(url, tmp_path / "fleet", 260)
    planned = api.plan(url, str(desired))
    order = [c.client_id for c in planned.clients if c.writes]
    before = snapshot(url)
    holder = sqlite3.connect(f"{tmp_path}/locked.db", isolation_level=None)

    def old_code_takes_the_lock(_result: object) -> None:  # after the first transaction
        if not holder.in_transaction:
            holder.execute("BEGIN IMMEDIATE")

    try:
        with pytest.raises(ConnectionLost) as caught:
            api.apply(url, planned, force=True, on_done=old_code_takes_the_lock)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        dispose_engine(url)
    first, rest = order[200], len(order) - 201
    assert caught.value.message == (
        f"store stayed locked by another writer while writing client {first} (and {rest} more "
        "in the same transaction): OperationalError: database is locked; rolled back, nothing "
        f"written for them; 200 client(s) applied before, 0 not attempted"
    )
    assert caught.value.hint == (
        "wait for the other writer to finish, then plan and apply again "
        "(clients already applied have nothing left to change)"
    )
    after = snapshot(url)
    assert [c for c in ids if client_state(after, c) != client_state(before, c)] == [
        c for c in ids if c in order[:200]
    ]
    ((run_id, kind, status),) = runs(url)
    assert (kind, status) == ("apply", "running")  # could not be finished while locked
    assert run_clients(url, run_id) == sorted(order[:200])
