"""Start-up cost of CLI processes (issue 15): wall time, peak memory and what each imports.

    python bench/startup.py [--repeat 5] [--dir desired-state]

Makes a SQLite store in a temporary directory (`init --demo`, then `apply` of --dir), then runs
each command as a fresh process:

- under /usr/bin/time, --repeat times, and prints the best wall time and the peak RSS;
- under `python -X importtime`, and prints the total import time (the sum of every module's
  own time, best of --repeat), the number of modules imported, and the heavy third-party
  packages among them (the ones `tests/cli/test_startup.py` keeps off paths that do not need
  them).

Run it from the checkout to measure: `python -m reconciler` imports the package from the
current directory first.

Commands: `--version`, `--help`, `status --client ID --dir DIR`, the same on a copy of DIR
without policies/ (which loading compiles with cel-python, issue 16), and `validate DIR`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Packages whose import costs tens of milliseconds or pulls a stack in (web, CEL, crypto...).
HEAVY = (
    "jsonschema",
    "referencing",
    "starlette",
    "uvicorn",
    "jinja2",
    "httpx",
    "rich",
    "celpy",
    "lark",
    "cryptography",
    "prometheus_client",
    "tenacity",
    "kubernetes_validate",
    "confusable_homoglyphs",
    "sqlalchemy",
    "psycopg",
    "yaml",
)
ACME = "0ee6a19a-b01d-4773-8a91-d6023ddab802"


def reconciler(*args: str) -> list[str]:
    return [sys.executable, "-m", "reconciler", *args]


def importtime(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, int, list[str]]:
    """Total own import time in ms (best of `repeat`), modules imported, heavy packages
    imported (sorted)."""
    totals = []
    for _ in range(repeat):
        done = subprocess.run(
            [argv[0], "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True
        )
        total_us, modules, packages = 0, 0, set()
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "self [us]" in line:
                continue
            own, _cumulative, name = line.removeprefix("import time:").split("|")
            total_us += int(own)
            modules += 1
            packages.add(name.strip().split(".")[0])
        totals.append(total_us / 1000)
    return min(totals), modules, sorted(packages & set(HEAVY))


def timed(argv: list[str], env: dict[str, str], repeat: int) -> tuple[float, float, int]:
    """Best wall time and best CPU time (user + system) in seconds, and the largest peak RSS
    in KiB, over `repeat` runs. On a shared machine CPU time varies less than wall time."""
    walls, cpus, peaks = [], [], []
    for _ in range(repeat):
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%e %U %S %M", *argv], env=env, capture_output=True, text=True
        )
        wall, user, system, peak = done.stderr.strip().splitlines()[-1].split()
        walls.append(float(wall))
        cpus.append(float(user) + float(system))
        peaks.append(int(peak))
    return min(walls), min(cpus), max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default="desired-state")
    args = parser.parse_args()
    desired = str(Path(args.dir).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "RECONCILER_STORE": f"sqlite:///{tmp}/store.db"}
        for setup in (("init", "--demo"), ("apply", "--yes", "--dir", desired)):
            subprocess.run(reconciler(*setup), env=env, capture_output=True, check=True)
        plain = f"{tmp}/no-policies"
        shutil.copytree(desired, plain, ignore=shutil.ignore_patterns("policies"))
        commands = {
            "--version": reconciler("--version"),
            "--help": reconciler("--help"),
            "status --client": reconciler("status", "--client", ACME, "--dir", desired),
            "  no policies/": reconciler("status", "--client", ACME, "--dir", plain),
            "validate": reconciler("validate", desired),
        }
        print(
            f"{'command':<16} {'wall s':>6} {'CPU s':>6} {'RSS MiB':>7} {'import ms':>9} "
            f"{'modules':>7}  heavy"
        )
        for name, argv in commands.items():
            wall, cpu, peak = timed(argv, env, args.repeat)
            total_ms, modules, heavy = importtime(argv, env, args.repeat)
            print(
                f"{name:<16} {wall:>6.2f} {cpu:>6.2f} {peak / 1024:>7.1f} {total_ms:>9.0f} "
                f"{modules:>7}  "
                f"{', '.join(heavy) or '-'}"
            )


if __name__ == "__main__":
    main()
