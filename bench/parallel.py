"""Serial vs parallel parsing (--jobs 1 vs 2) for validate, plan and drift (issue 8).

python bench/parallel.py [--clients 10000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fleet, floor, fresh_database, seed_live


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--jobs", nargs="+", default=["1", "2"])
    args = parser.parse_args(argv)
    root = fleet(args.clients)
    with fresh_database() as url:
        seed_live(url, root)
        print(f"floor (parse + SELECT): {floor(root, url):.2f} s")
        commands = (
            ["validate", str(root)],
            ["plan", "--store", url, "--dir", str(root), "--format", "json"],
            ["drift", "--store", url, "--dir", str(root), "--format", "json"],
        )
        for cmd in commands:
            for jobs in args.jobs:
                start = time.perf_counter()
                run = [sys.executable, "-m", "reconciler", *cmd, "--jobs", jobs]
                proc = subprocess.run(run, capture_output=True, check=False)
                took = time.perf_counter() - start
                print(f"{cmd[0]:<9} --jobs {jobs}: {took:6.2f} s (exit {proc.returncode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
