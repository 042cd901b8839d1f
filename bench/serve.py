"""Benchmark the dashboard's fleet overview on PostgreSQL (issue 9).

    python bench/serve.py [--clients 10000] [--rounds 50] [--restarts 3]

Generates a fleet (bench/gen_fleet.py), applies it to an empty store (every client has a last
run), then ~1% are drifted by plain SQL. Serves the dashboard with uvicorn on a loopback port
and times requests by their `server-timing` header (time in the application; the client's wall
time is shown beside it): the first overview (classifies the fleet and caches it), then cached
overview pages, a class filter, a search, a deep page and /api/drift.
Target: overview < 300 ms server time. Last, a restarted dashboard's first overview, with the
desired-state cache and the drift memo warm (issue 15: < 2 s at 10,000 clients), --restarts
times (the drift memo is PostgreSQL's, and off with RECONCILER_HISTORY_KEY: the output says
which).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from common import fleet, fresh_database, timed
from serving import serving
from sqlalchemy import text

from reconciler import api
from reconciler.apply.sealing import history_key
from reconciler.live.engine import make_engine
from reconciler.results import RunMeta
from reconciler.web.app import ServeConfig


def drift_some(url: str, share: float = 0.01) -> int:
    """Old code rewrites the legacy list of every 1/share-th client: drift to find."""
    step = round(1 / share)
    with make_engine(url).begin() as conn:
        result = conn.execute(
            text(
                "UPDATE client_app_overrides SET modules_enabled = '[\"support\"]'::jsonb "
                "WHERE id IN (SELECT id FROM client_app_overrides ORDER BY client_id) "
                "AND (('x' || substr(md5(client_id::text), 1, 8))::bit(32)::int % :step) = 0"
            ),
            {"step": step},
        )
        return int(result.rowcount)


def measure(client: httpx.Client, path: str, rounds: int) -> tuple[float, float, float]:
    """Median and max server milliseconds (the `server-timing` header) and median wall
    milliseconds of `rounds` GETs of `path`."""
    server, wall = [], []
    for _ in range(rounds):
        seconds, response = timed(lambda: client.get(path))
        assert response.status_code == 200, (path, response.status_code)
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
        wall.append(seconds * 1000)
    return statistics.median(server), max(server), statistics.median(wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--restarts", type=int, default=3, help="restarted first overviews")
    args = parser.parse_args(argv)
    root = fleet(args.clients)
    with fresh_database("bench_serve") as url:
        meta = RunMeta(actor="bench", command="bench/serve.py")
        api.apply(url, api.plan(url, str(root)), force=True, meta=meta)  # every client applied
        drifted = drift_some(url)
        config = ServeConfig(
            store_url=url, desired_dir=str(root), token="bench-" + "x" * 32, cache_ttl=3600
        )
        with serving(config) as base, httpx.Client(base_url=base, timeout=600) as client:
            cold_s, first = timed(lambda: client.get("/"))
            assert first.status_code == 200
            cold_server = first.headers["server-timing"].split("dur=")[1]
            summary = client.get("/api/drift").json()["summary"]
            print(f"clients                     {args.clients}  (drift summary {summary})")
            print(f"drifted by SQL              {drifted}")
            memo = "off (RECONCILER_HISTORY_KEY set)" if history_key() else "on"
            print(f"drift memo                  {memo}")
            print(
                f"first overview (classify)   server {cold_server} ms "
                f"(wall {cold_s * 1000:.0f} ms): computes and caches the drift report"
            )
            for label, path in [
                ("overview page 1 (cached)", "/"),
                ("filter class=drifted", "/?class=drifted"),
                ("search q=client name", "/?q=clinic"),
                ("deep page", f"/?page={args.clients // 100}"),
            ]:
                median, worst, wall = measure(client, path, args.rounds)
                verdict = "ok" if worst < 300 else "OVER TARGET"
                print(
                    f"{label:<27} server {median:.1f} ms median, {worst:.1f} ms max "
                    f"(wall {wall:.1f} ms)  target < 300 ms: {verdict}"
                )
            some = client.get("/api/drift").json()["clients"][0]["client_id"]
            for label, path, first in [
                ("client page", f"/clients/{some}", "plans this client alone: no fleet plan yet"),
                ("history page", "/history", "fills the run cache"),
                ("run page (run 1, 50/page)", "/runs/1", "fills the masker and run caches"),
            ]:
                first_ms = measure(client, path, 1)[0]
                median, _, _ = measure(client, path, 5)
                print(
                    f"{label:<27} server {first_ms:.1f} ms first ({first}), "
                    f"then {median:.1f} ms median"
                )
            median, worst, wall = measure(client, "/api/drift", max(3, args.rounds // 10))
            print(
                f"{'/api/drift (whole report)':<27} server {median:.1f} ms median, "
                f"{worst:.1f} ms max (wall {wall:.1f} ms)"
            )
        # A restarted dashboard: nothing in its memory, the desired-state cache and the drift
        # memo warm from the first classification (issue 15: target < 2 s at 10,000 clients).
        # --restarts times, as the machine's other work moves single figures by seconds; CPU:
        # this process's (the server's threads, and the client's, which waits) during it.
        servers = []
        for _ in range(args.restarts):
            with serving(config) as base, httpx.Client(base_url=base, timeout=600) as client:
                cpu = time.process_time()
                warm_s, again = timed(lambda: client.get("/"))
                cpu = time.process_time() - cpu
                assert again.status_code == 200
                warm_server = float(again.headers["server-timing"].split("dur=")[1])
                servers.append(warm_server)
                print(
                    f"first overview, restarted   server {warm_server:.1f} ms (wall "
                    f"{warm_s * 1000:.0f} ms, CPU {cpu * 1000:.0f} ms): desired-state cache and "
                    f"drift memo warm, target < 2 s"
                )
        verdict = "ok" if min(servers) < 2000 else "OVER TARGET"
        print(f"restarted, best of {len(servers)}     server {min(servers):.1f} ms: {verdict}")
        print(f"load average at the end     {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
