"""Shared benchmark plumbing: cached fleets, fresh PostgreSQL databases, seeded state, floors."""

from __future__ import annotations

import os
import random
import resource
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import yaml
from gen_fleet import generate
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

from reconciler.desired.load import load_desired
from reconciler.desired.secrets import resolve_or_raise
from reconciler.live.engine import dispose_engines, make_engine
from reconciler.live.migrate import init
from reconciler.live.tables import client_app_overrides, reconciler_client_modules
from reconciler.model import ClientLive
from reconciler.plan.target import build_target

PG = os.environ.get("RECONCILER_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CACHE = Path(os.environ.get("BENCH_CACHE", "/tmp/reconciler-bench"))


def fleet(n: int) -> Path:
    """A generated fleet of n clients, cached between runs (deterministic, seed 0)."""
    root = CACHE / f"fleet-{n}"
    marker = root / ".complete"
    if not marker.exists():
        generate(n, root, seed=0)
        marker.write_text("ok")
    return root


def _admin(url: str) -> str:
    return (
        make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    )


@contextmanager
def fresh_database(prefix: str = "bench") -> Iterator[str]:
    """A new empty PostgreSQL database, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(_admin(PG), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(PG).set(database=name).render_as_string(hide_password=False)
    try:
        init(make_engine(url))
        yield url
    finally:
        dispose_engines()
        with psycopg.connect(_admin(PG), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_live(
    url: str, root: Path, *, differ: float = 0.1, seed: int = 1, registry_rows: bool = True
) -> int:
    """Write live state equal to the desired state for every client, except a `differ` share
    that gets an out-of-band change (a module dropped from the legacy list). Returns that count.
    Without `registry_rows`, only the legacy table is written: a fleet before its adoption
    (every client's modules still to be adopted into an empty registry)."""
    state = load_desired(root)
    defaults = state.settings.legacy_defaults
    rng = random.Random(seed)
    legacy, registry, changed = [], [], 0
    # Live holds the secrets' values, as apply writes them: in sync means resolved.
    clients = resolve_or_raise(list(state.clients.values()), state.catalog, str(root))
    for client in clients:
        target = build_target(client, ClientLive(client_id=client.client_id), defaults)
        row = target.legacy
        modules = list(row.modules_enabled) if row else list(defaults)
        perturb = rng.random() < differ and bool(modules)
        if perturb:
            modules.pop(rng.randrange(len(modules)))
            changed += 1
        if row is not None or perturb:
            legacy.append(
                {
                    "client_id": client.client_id,
                    "modules_enabled": modules,
                    "theme_overrides": row.theme_overrides if row else {},
                    "consultation_config": row.consultation_config if row else {},
                    "plan_catalog_overrides": row.plan_catalog_overrides if row else {},
                    "catalog_overrides": row.catalog_overrides if row else {},
                }
            )
        registry.extend(
            {
                "client_id": client.client_id,
                "module_id": m,
                "enabled": r.enabled,
                "version": r.version,
                "settings": dict(r.settings),
            }
            for m, r in target.registry.items()
        )
    engine = make_engine(url)
    with engine.begin() as conn:
        for start in range(0, len(legacy), 5000):
            conn.execute(insert(client_app_overrides), legacy[start : start + 5000])
        for start in range(0, len(registry) if registry_rows else 0, 5000):
            conn.execute(insert(reconciler_client_modules), registry[start : start + 5000])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        # Planner statistics, as autovacuum would gather them on a production server (it is
        # off on this benchmark machine): without them PostgreSQL seq-scans 1M registry rows.
        conn.execute(text("ANALYZE client_app_overrides"))
        conn.execute(text("ANALYZE reconciler_client_modules"))
    return changed


def floor(root: Path, url: str) -> float:
    """Seconds to parse every YAML file with CSafeLoader plus one SELECT of all live rows."""
    start = time.perf_counter()
    for path in [root / "reconciler.yaml", *sorted(root.glob("*/*.yaml"))]:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    with psycopg.connect(_admin(url)) as conn:
        conn.execute("SELECT * FROM client_app_overrides").fetchall()
        conn.execute("SELECT * FROM reconciler_client_modules").fetchall()
    return time.perf_counter() - start


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
