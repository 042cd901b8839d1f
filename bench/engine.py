"""Benchmark plan and apply on PostgreSQL (issue 5).

    python bench/engine.py [--clients 10000]

Generates a fleet (bench/gen_fleet.py), seeds live state with ~10% of clients differing, then
prints plan time next to the floor (CSafeLoader parse + one SELECT of all live rows, same run),
and apply throughput in changed clients per second (for the ~10% and for a never-applied fleet).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fleet, floor, fresh_database, seed_live, timed

from reconciler import api
from reconciler.results import RunMeta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    args = parser.parse_args(argv)
    root = fleet(args.clients)
    meta = RunMeta(actor="bench", command="bench/engine.py")
    with fresh_database() as url:
        differing = seed_live(url, root)
        floor_s = min(floor(root, url) for _ in range(2))
        plan_s, planned = timed(lambda: api.plan(url, str(root)))
        apply_s, report = timed(lambda: api.apply(url, planned, force=True, meta=meta))
        changed = report.counts["applied"]
        print(f"clients                 {args.clients}")
        print(
            f"differing (seeded)      {differing}  -> plan lists {planned.summary.clients_changed}"
        )
        print(f"floor (parse + SELECT)  {floor_s:.2f} s")
        print(
            f"plan                    {plan_s:.2f} s  ({plan_s / floor_s:.2f}x floor, target <= 2x)"
        )
        print(
            f"apply ~10%              {changed} clients in {apply_s:.2f} s "
            f"= {changed / apply_s:.0f} clients/s"
        )
    with fresh_database() as url:
        planned = api.plan(url, str(root))
        apply_s, report = timed(lambda: api.apply(url, planned, force=True, meta=meta))
        changed = report.counts["applied"]
        print(
            f"apply never-applied     {changed} clients in {apply_s:.2f} s "
            f"= {changed / apply_s:.0f} clients/s (target >= 1000)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
