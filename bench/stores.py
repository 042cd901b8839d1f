"""Benchmark the live stores on PostgreSQL (issue 4): unified_modules and read_live at scale.

    RECONCILER_TEST_PG=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        .venv/bin/python bench/stores.py [--clients 10000] [--sqlite]

Creates a scratch database (dropped at the end), seeds N clients (legacy row with 5 modules,
3 registry rows each; every 10th client has no legacy row), then prints per-call times for
`unified_modules` cold (empty cache) and cached, and `read_live` of every client against a
bare `SELECT *` of the same two tables in the same run. Targets: cold < 2 ms, cached
< 0.05 ms, read_live within 2x of the bare select.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from reconciler.compat import unified_modules
from reconciler.live.cache import ClientCache
from reconciler.live.engine import dispose_engines, make_engine
from reconciler.live.migrate import init
from reconciler.live.state import read_live
from reconciler.live.tables import client_app_overrides, reconciler_client_modules

MODULES = [
    "analytics", "automation", "integrations", "support", "consultation", "forms",
    "documents", "questionnaire-engine", "consultation-generator", "email-integration",
    "theme-customizer", "analytics-basic",
]  # fmt: skip


@contextmanager
def pg_database(base: str) -> Iterator[str]:
    """A scratch database on the server of `base`, dropped WITH (FORCE) afterwards."""
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"reconciler_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_engines()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, n: int) -> list[str]:
    """N clients: 9 in 10 with a legacy row of 5 modules; each with 3 registry rows."""
    rng = random.Random(42)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]
    legacy, registry = [], []
    now = datetime.now(UTC)
    for i, cid in enumerate(ids):
        mods = rng.sample(MODULES, 5)
        if i % 10:
            legacy.append(
                {
                    "client_id": cid,
                    "modules_enabled": mods,
                    "theme_overrides": {"primary_color": "#123456", "font": "Inter"},
                    "consultation_config": {"duration_minutes": 30},
                    "plan_catalog_overrides": {},
                    "catalog_overrides": {},
                }
            )
        for module_id in mods[:3]:
            registry.append(
                {
                    "client_id": cid,
                    "module_id": module_id,
                    "enabled": rng.random() < 0.9,
                    "version": "1.2.3",
                    "settings": {"retention_days": 30, "nested": {"a": [1, 2, 3]}},
                    "updated_at": now,
                }
            )
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(client_app_overrides), legacy)
        conn.execute(insert(reconciler_client_modules), registry)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
    return ids


def per_call(fn: Callable[[str], object], ids: list[str]) -> float:
    """Mean seconds per call over `ids`."""
    start = time.perf_counter()
    for cid in ids:
        fn(cid)
    return (time.perf_counter() - start) / len(ids)


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def run(url: str, n: int) -> dict[str, float]:
    engine = make_engine(url)
    init(engine)
    ids = seed(url, n)
    sample = random.Random(7).sample(ids, min(2000, n))
    unified_modules(sample[0], store=url, ttl=0)  # connect, verify schema once
    cold_cache = ClientCache()
    cold = per_call(lambda c: unified_modules(c, store=url, cache=cold_cache), sample)
    cached = statistics.median(
        per_call(lambda c: unified_modules(c, store=url, cache=cold_cache), sample)
        for _ in range(5)
    )

    def bare() -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM client_app_overrides").fetchall()
            conn.exec_driver_sql("SELECT * FROM reconciler_client_modules").fetchall()

    def live_all() -> None:
        with engine.connect() as conn:
            assert len(read_live(conn)) == n

    bare_s = best_of(bare)
    live_s = best_of(live_all)
    return {"cold": cold, "cached": cached, "bare": bare_s, "read_live": live_s}


def report(label: str, n: int, r: dict[str, float]) -> None:
    print(f"{label}, {n:,} clients")
    print(f"  unified_modules cold    {r['cold'] * 1e3:8.3f} ms/call   (target < 2 ms)")
    print(f"  unified_modules cached  {r['cached'] * 1e3:8.4f} ms/call   (target < 0.05 ms)")
    print(f"  bare SELECT * (2 tables){r['bare'] * 1e3:8.1f} ms")
    ratio = r["read_live"] / r["bare"]
    print(f"  read_live (all clients) {r['read_live'] * 1e3:8.1f} ms   = {ratio:.2f}x bare (< 2x)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--sqlite", action="store_true", help="also run on a SQLite file")
    args = parser.parse_args()
    base = os.environ.get("RECONCILER_TEST_PG")
    if not base:
        print("RECONCILER_TEST_PG not set: need a PostgreSQL server", file=sys.stderr)
        return 1
    with pg_database(base) as url:
        report("PostgreSQL", args.clients, run(url, args.clients))
    if args.sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            report("SQLite", args.clients, run(f"sqlite:///{tmp}/bench.db", args.clients))
    return 0


if __name__ == "__main__":
    sys.exit(main())
