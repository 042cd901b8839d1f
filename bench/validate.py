"""Benchmark `validate` against the parse floor (issue 3).

    python bench/validate.py [--sizes 1000 10000] [--repeat 3]

For each fleet size it generates a tree with bench/gen_fleet.py, then times (best of
--repeat, files warm in the page cache) the floor, merely reading and parsing every YAML file
with yaml.CSafeLoader, and `reconciler.api.validate` on the same tree, and prints the ratio.
Target: ratio <= 1.5 at 10,000 clients.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_fleet import generate

from reconciler import api


def floor(root: Path) -> int:
    """Read and parse every YAML file of the tree with the C loader; return the file count."""
    files = [root / "reconciler.yaml"]
    for folder in ("modules", "profiles", "clients"):
        files.extend(sorted((root / folder).rglob("*.yaml")))
    for path in files:
        yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    return len(files)


def best(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{'clients':>8} {'floor s':>9} {'validate s':>11} {'ratio':>6}")
    worst = 0.0
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as tmp:
            root = Path(tmp)
            generate(n, root, seed=0)
            state = api.validate(str(root))  # warm-up: page cache, imports
            assert len(state.clients) == n, "the generated fleet must be valid"
            t_floor = best(lambda root=root: floor(root), args.repeat)
            t_validate = best(lambda root=root: api.validate(str(root)), args.repeat)
        ratio = t_validate / t_floor
        worst = max(worst, ratio)
        print(f"{n:>8} {t_floor:>9.3f} {t_validate:>11.3f} {ratio:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
