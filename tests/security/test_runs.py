"""Issue 18 finding 10: a run killed with kill -9 shows as `abandoned`, not `running` forever;
a revert refused as stale is recorded as `refused`, not as a run of 0 clients; the per-client
TTL cache evicts expired entries."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

from reconciler import api
from reconciler.apply.history import start_run
from reconciler.live.cache import ClientCache
from reconciler.live.engine import make_engine
from reconciler.live.migrate import MIGRATIONS
from reconciler.model import DesiredModule
from reconciler.results import RunMeta
from tests.apply.engine_helpers import client, make_plan
from tests.helpers import add_clients, has_table, run_sql

A = "11111111-1111-4111-8111-111111111111"
META = RunMeta(actor="test", command="reconciler apply")


def _killed_run(store_url: str) -> int:
    """A process that starts a run and is killed with SIGKILL before it finishes it."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import UTC, datetime
        from reconciler.apply.history import start_run
        from reconciler.live.engine import make_engine
        run_id = start_run(make_engine({store_url!r}), now=datetime.now(UTC), kind="apply",
                           actor="ci", command="reconciler apply", store="s")
        print(run_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == -9, result.stderr
    return int(result.stdout)


def test_a_killed_run_shows_as_abandoned(store_url: str) -> None:
    killed = _killed_run(store_url)
    alive = start_run(
        make_engine(store_url),
        now=datetime.now(UTC),
        kind="apply",
        actor="me",
        command="reconciler apply",
        store="s",
    )  # this test's own process: still alive, so still running
    runs = {r.id: r for r in api.history(store_url)}
    assert runs[killed].status == "abandoned"
    assert runs[killed].to_json()["pid"] is not None
    assert runs[alive].status == "running"
    assert runs[alive].to_json()["pid"] == os.getpid()
    rows = run_sql(store_url, "SELECT status FROM reconciler_runs ORDER BY id")
    assert [r[0] for r in rows] == ["running", "running"]  # shown so, never rewritten by reading


def test_init_upgrades_a_version_1_store_with_the_process_columns(store_url: str) -> None:
    run_sql(store_url, "ALTER TABLE reconciler_runs DROP COLUMN host")
    run_sql(store_url, "ALTER TABLE reconciler_runs DROP COLUMN pid")
    run_sql(store_url, "UPDATE reconciler_schema_version SET version = 1")
    outcome = api.init(store_url)
    assert [v for v, _ in outcome.applied] == [v for v, _, _ in MIGRATIONS if v > 1]
    assert has_table(store_url, "reconciler_runs")
    assert _killed_run(store_url) == 1
    assert [r.status for r in api.history(store_url)] == ["abandoned"]


def test_a_refused_stale_revert_is_recorded_as_refused(store_url: str) -> None:
    add_clients(store_url, [A])
    applied = api.apply(
        store_url,
        make_plan(store_url, [client(A, forms=DesiredModule(version="1.2.0"))]),
        meta=META,
    )
    run_sql(
        store_url,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["support"]', A],
    )
    report = api.revert(store_url, applied.run_id or 0, meta=META)
    assert report.counts["stale"] == 1
    assert not report.ok
    runs = api.history(store_url)
    assert [(r.kind, r.status, r.clients) for r in runs] == [
        ("revert", "refused", 0),
        ("apply", "done", 1),
    ]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_client_cache_evicts_expired_entries() -> None:
    clock = FakeClock()
    cache = ClientCache(clock)
    for n in range(1000):
        cache.put(("s", f"c{n}"), (), ("forms",), 0, ttl=10.0)
    assert len(cache) == 1000
    clock.now += 10.0
    cache.put(("s", "fresh"), (), ("forms",), 0, ttl=10.0)  # a write sweeps what expired
    assert len(cache) == 1
    assert cache.get(("s", "fresh"), (), 10.0) == (True, ("forms",))
    clock.now += 10.0
    assert cache.get(("s", "fresh"), (), 10.0) == (False, None)
    assert len(cache) == 0  # an expired entry read is dropped too


def test_a_reused_pid_does_not_keep_a_run_running(store_url: str) -> None:
    """The pid exists, but its process started after the run did: another process now."""
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    run_id = start_run(
        make_engine(store_url),
        now=long_ago,
        kind="apply",
        actor="me",
        command="reconciler apply",
        store="s",
    )
    (run,) = [r for r in api.history(store_url) if r.id == run_id]
    assert run.status == "abandoned"
