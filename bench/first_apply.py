"""The first apply of a never-applied fleet, as a user runs it (issue 15).

    python bench/first_apply.py [--sizes 10000 100000] [--caches cold warm] [--out FILE] [-j N]

For each size: a generated fleet (bench/gen_fleet.py, cached) and, per desired-cache state, a
fresh PostgreSQL database on RECONCILER_TEST_PG's server with the store initialised and nothing
applied (registry and legacy table empty: every client changes), then `python -m reconciler
-v apply --yes --force` as a CLI subprocess under GNU time:

- cold: an empty desired cache (its own directory): the apply parses, checks and resolves
  every file (and fills the cache);
- warm: a new desired cache filled by a `validate` of the same tree first (timed: the cold
  parse of the tree), so the apply's plan pass reads each client from the cache; the stores
  are still empty, so it is still a never-applied fleet.

Prints, per run, wall time, clients per second (fleet size / wall), peak RSS, CPU and the
two passes' times from the -v log (plan pass: desired state, live reads, plans, spool; write
pass: the run's transactions); then EXPLAIN (ANALYZE) of the per-batch keyed statements on the
largest fleet's tables as the apply runs them; appends a section to --out.
(`--force`: the example settings refuse runs of more than 50 clients.)
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import psycopg
from common import fleet, fresh_database
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
BATCH = 200  # ids per read, as apply/transaction.py BATCH_SIZE
# The per-batch reads of an apply transaction (live/legacy.py, live/registry.py (also the
# read-back), live/verify.py, apply/history.py), with sequential scans off as
# apply/transaction.py runs them.
READS = {
    "legacy (locked)": "SELECT client_id, modules_enabled, theme_overrides, consultation_config, "
    "plan_catalog_overrides, catalog_overrides FROM client_app_overrides "
    "WHERE client_id = ANY(%(ids)s::uuid[]) FOR UPDATE",
    "registry": "SELECT CAST(json_agg(json_build_array(client_id, module_id, enabled, version, "
    "settings)) AS text) FROM reconciler_client_modules WHERE client_id = ANY(%(ids)s::uuid[])",
    "legacy (read back)": "SELECT CAST(json_agg(json_build_array(client_id, modules_enabled, "
    "theme_overrides, consultation_config, plan_catalog_overrides, catalog_overrides)) AS text) "
    "FROM client_app_overrides WHERE client_id = ANY(%(ids)s::uuid[])",
    "last snapshots": "SELECT latest.client_id, (SELECT snapshot.after FROM reconciler_run_clients "
    "AS snapshot WHERE snapshot.run_id = latest.run_id AND snapshot.client_id = latest.client_id) "
    "FROM (SELECT client_id, max(run_id) AS run_id FROM reconciler_run_clients "
    "WHERE client_id = ANY(%(ids)s::uuid[]) GROUP BY client_id) AS latest",
}


_IDS = re.compile(r"'\{[0-9a-f,-]+\}'")


def run_apply(root: Path, url: str, jobs: int | None, cache: Path) -> dict[str, float]:
    """One `apply --yes --force` of the fleet with the desired cache in `cache`: wall, peak
    RSS, CPU and the passes' times."""
    args = [sys.executable, "-m", "reconciler", "-v", "apply", "--yes", "--force"]
    args += ["--store", url, "--dir", str(root)] + (["-j", str(jobs)] if jobs else [])
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M %U %S", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", "RECONCILER_CACHE_DIR": str(cache)},
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"apply failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rss_kb, user, system = proc.stderr.strip().splitlines()[-1].split()
    plan = re.search(r"plan \(streamed\): .*, ([\d.]+) s$", proc.stderr, re.M)
    write = re.search(r"apply run \d+: (\d+) applied, .* in ([\d.]+) s$", proc.stderr, re.M)
    if plan is None or write is None:
        raise SystemExit(f"no pass times in the -v log:\n{proc.stderr[-2000:]}")
    return {
        "wall": wall,
        "rss": int(rss_kb) / 1024,
        "cpu": float(user) + float(system),
        "plan": float(plan.group(1)),
        "write": float(write.group(2)),
        "applied": int(write.group(1)),
    }


def validate_wall(root: Path, cache: Path) -> float:
    """Wall seconds of `validate` of the tree into the empty desired cache `cache`: parsing,
    checking and resolving every file (what a cold plan pass does too), filling the cache."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(root)],
        capture_output=True,
        check=True,
        env={**os.environ, "RECONCILER_CACHE_DIR": str(cache)},
    )
    return time.perf_counter() - start


def explain(url: str) -> str:
    """EXPLAIN (ANALYZE) of each per-batch read for BATCH ids from the middle of the fleet."""
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    lines = []
    with psycopg.connect(conninfo) as conn:
        legacy, registry, history = conn.execute(
            "SELECT (SELECT count(*) FROM client_app_overrides), "
            "(SELECT count(*) FROM reconciler_client_modules), "
            "(SELECT count(*) FROM reconciler_run_clients)"
        ).fetchone() or (0, 0, 0)
        lines.append(
            f"rows: client_app_overrides {legacy:,}, reconciler_client_modules {registry:,}, "
            f"reconciler_run_clients {history:,}; {BATCH} ids per read, sequential scans off"
        )
        ids = [
            str(r[0])
            for r in conn.execute(
                "SELECT client_id FROM client_app_overrides ORDER BY client_id "
                "OFFSET (SELECT count(*) / 2 FROM client_app_overrides) LIMIT %s",
                [BATCH],
            )
        ]
        conn.execute("SELECT set_config('enable_seqscan', 'off', true)")
        for name, query in READS.items():
            plan = conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {query}", {"ids": ids})
            lines += ["", f"-- {name}", *(_IDS.sub(f"'{{{BATCH} ids}}'", r[0]) for r in plan)]
        conn.rollback()
    return "\n".join(lines)


Figures = dict[str, float]


def one_size(
    n: int, caches: list[str], jobs: int | None, explained: bool
) -> tuple[dict[str, Figures], str]:
    """The runs of one fleet size: {cache state: figures} (and the validate time), EXPLAIN."""
    root = fleet(n)
    results: dict[str, Figures] = {}
    plans = ""
    for state in caches:
        cache = Path(tempfile.mkdtemp(prefix=f"first-apply-{state}-"))
        try:
            validated = validate_wall(root, cache) if state == "warm" else None
            with fresh_database("first_apply") as url:
                r = results[state] = run_apply(root, url, jobs, cache)
                if validated is not None:
                    r["validate"] = validated
                print(
                    f"{n:>7,} clients, {state} cache: {r['wall']:7.1f} s wall = "
                    f"{n / r['wall']:6.0f} clients/s, peak RSS {r['rss']:5.0f} MiB, CPU "
                    f"{r['cpu']:.1f} s; plan pass {r['plan']:.1f} s, write pass {r['write']:.1f} s "
                    f"({r['applied'] / r['write']:.0f} written/s)"
                    + (f"; validate (cold) before it {validated:.1f} s" if validated else ""),
                    flush=True,
                )
                if explained and state == caches[-1]:
                    plans = explain(url)
                    print(plans)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    return results, plans


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--caches", nargs="+", choices=["cold", "warm"], default=["cold", "warm"])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="apply's -j (default: none)")
    args = parser.parse_args(argv)
    results: dict[int, dict[str, Figures]] = {}
    plans = ""
    for n in args.sizes:
        results[n], explained = one_size(n, args.caches, args.jobs, n == max(args.sizes))
        plans = explained or plans
    load = os.getloadavg()
    lines = [
        "",
        "## First apply of a never-applied fleet (issue 15): "
        f"`python bench/first_apply.py --sizes {' '.join(map(str, args.sizes))}`",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores "
        f"shared with other engineers' runs (load average {load[0]:.1f} at the end), Python "
        f"{platform.python_version()}, PostgreSQL on 127.0.0.1. `apply --yes --force` as a CLI "
        "process on a fresh store (registry and legacy table empty), wall time, peak RSS and "
        "CPU (the apply process's, not PostgreSQL's) from GNU time; the passes' times from its "
        "-v log. Cold: an empty desired cache; warm: the cache filled by a `validate` of the "
        "same tree first (its time: the cold parse, check and resolution of every file).",
        "",
        "| clients | desired cache | wall s | clients/s | peak RSS MiB | CPU s | plan pass s "
        "| write pass s | applied | written/s | validate before s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n, runs in results.items():
        for state, r in runs.items():
            validated = f"{r['validate']:.1f}" if "validate" in r else ""
            lines.append(
                f"| {n:,} | {state} | {r['wall']:.1f} | {n / r['wall']:.0f} | {r['rss']:.0f} "
                f"| {r['cpu']:.1f} | {r['plan']:.1f} | {r['write']:.1f} | {r['applied']:.0f} "
                f"| {r['applied'] / r['write']:.0f} | {validated} |"
            )
    sizes = sorted(results)
    if len(sizes) >= 2:
        small, big = sizes[0], sizes[-1]
        lines.append("")
        for state in args.caches:
            ratio = (big / results[big][state]["wall"]) / (small / results[small][state]["wall"])
            lines.append(
                f"Rate at {big:,} / rate at {small:,}, {state} cache: {ratio:.2f} (target >= 0.80)."
            )
    lines += ["", f"Per-batch statements at {max(sizes):,} clients:", "", "```", plans, "```"]
    with args.out.open("a", encoding="utf-8") as out:
        out.write("\n".join(lines) + "\n")
    print(f"appended to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
