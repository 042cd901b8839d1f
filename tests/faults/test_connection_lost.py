"""The apply's PostgreSQL backend is terminated mid-run (SPEC §5: atomic per client)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.live.locks import lock_key
from tests.faults.faults_helpers import (
    assert_clean_stderr,
    cli,
    client_state,
    count_run_clients,
    make_fleet,
    run_clients,
    runs,
    snapshot,
    start,
    wait_until,
)
from tests.helpers import Query, run_sql, sql_session

pytestmark = pytest.mark.pg

# Advisory locks held in this database: the apply's backend, inside a client transaction.
_LOCK_HOLDERS = (
    "SELECT pid, classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' "
    "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
_LOST = re.compile(
    r"^error: connection to the store lost while writing client (\S+)"
    r"(?: \(and (\d+) more in the same transaction\))?: (?:OperationalError|AdminShutdown): (.+); "
    r"rolled back, nothing written for (?:it|them); (\d+) client\(s\) applied before, "
    r"(\d+) not attempted\nhint: check the database server, then plan and apply again "
    r"\(clients already applied have nothing left to change\)\n\Z",
    re.DOTALL | re.MULTILINE,
)


def _signed(classid: int, objid: int) -> int:
    key = (classid << 32) | objid
    return key - (1 << 64) if key >= 1 << 63 else key


@pytest.mark.slow
@pytest.mark.parametrize("after_clients", [0, 150, 300])
def test_terminated_backend_stops_the_run_naming_the_client_in_flight(
    pg_store: str, tmp_path: Path, after_clients: int
) -> None:
    desired, ids = make_fleet(pg_store, tmp_path / "fleet", 520)
    store = ["--store", pg_store, "--dir", str(desired)]
    keys = {lock_key(cid): cid for cid in ids}
    before = snapshot(pg_store)

    apply = start(tmp_path, "apply", "apply", "--yes", "--force", *store)
    holders: list[tuple[int, str]] = []

    def in_flight(poll: Query) -> bool:
        if count_run_clients(pg_store, poll) < after_clients:
            return False
        rows = poll(_LOCK_HOLDERS)
        # Only client locks: the catalog sync before the first client holds a lock of its own.
        found = [(int(pid), _signed(c, o)) for pid, c, o in rows]
        holders[:] = [(pid, keys[key]) for pid, key in found if key in keys]
        return bool(holders)

    with sql_session(pg_store) as poll:  # one connection for every poll
        caught = wait_until(lambda: in_flight(poll), apply.proc, 0.001)
    assert caught, "apply ended before it was caught mid-client"
    (pid,) = {pid for pid, _ in holders}
    observed = {cid for _, cid in holders}
    run_sql(pg_store, "SELECT pg_terminate_backend(%s)", [pid])
    code, out, err = apply.wait()
    middle = snapshot(pg_store)

    assert (code, out) == (1, ""), err
    assert_clean_stderr(err, allowed=["connection to the store lost while writing client"])
    match = _LOST.search(err)
    assert match, err[-1500:]
    first, more, reason, applied, not_attempted = match.groups()
    assert reason.endswith(
        (
            "terminating connection due to administrator command",
            "server closed the connection unexpectedly",
        )
    ), reason
    rerun = cli("apply", "--yes", "--force", *store)
    assert rerun.returncode == 0, rerun.stderr
    after = snapshot(pg_store)
    # Jobs run in client id order: a prefix applied, the transaction in flight rolled back,
    # the rest not attempted; nothing in between.
    order = sorted(c for c in ids if client_state(before, c) != client_state(after, c))
    done = int(applied)
    lost = order[done : done + 1 + int(more or 0)]
    assert lost[0] == first
    assert int(not_attempted) == len(order) - done - len(lost)
    assert observed <= set(lost) or observed <= set(order[:done])  # it may have just committed
    for cid in order[:done]:
        assert client_state(middle, cid) == client_state(after, cid)
    for cid in ids:
        if cid not in order[:done]:
            assert client_state(middle, cid) == client_state(before, cid)  # nothing partial
    (run_id, kind, status), rerun_run = runs(pg_store)
    assert (kind, status) == ("apply", "partial")
    assert run_clients(pg_store, run_id) == order[:done]
    assert run_clients(pg_store, rerun_run[0]) == order[done:]
    assert cli("plan", "--detailed-exitcode", *store).returncode == 0
