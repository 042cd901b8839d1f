"""Benchmark the first plan of a migration: the adoption plan (issue 15).

    python bench/adoption.py [--clients 10000] [--repeat 3] [--profile]
                             [--baseline PYTHON] [--results bench/RESULTS.md]

A generated fleet (bench/gen_fleet.py, cached), a fresh PostgreSQL database initialised as
`reconciler init` does, with the legacy table written as the desired state has it (~10 % of
clients differing) and the registry empty: every client changes, every enabled module is
adopted. Measured in the same run, interleaved, best of --repeat: the floor (CSafeLoader parse
of every desired file + one SELECT of all live rows, bench/common.py) and `reconciler plan
--format json` as a CLI subprocess, its output sent to /dev/null, cold (a fresh process; with
`--no-cache` where the command has it, and a fresh XDG_CACHE_HOME), with its peak RSS.
Target: plan <= 2.5x the floor at 10,000 clients (wall). CPU seconds (user + system of the
process; the floor's parse and row decoding in this one) are printed too: on a machine shared
with other work, wall time varies by tens of percent from run to run, CPU time much less.

--baseline PYTHON also times another checkout's CLI (e.g. /work/main/.venv/bin/python, an
editable install of main) in the same run. --profile runs each CLI once under cProfile (json,
and text) and prints the top functions by cumulative time. --results appends a section with
the figures (and the profiles) to that file.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fleet, floor, fresh_database, seed_live

REPO = Path(__file__).resolve().parent.parent
TOP = 22  # profile rows shown, and below them every row of ALWAYS
# The plan's own work, shown whatever its rank: per-path diff, target, summary, JSON and text.
ALWAYS = re.compile(
    r"plan/(build\.py.*plan_clients|diff\.py.*diff_client|target\.py.*build_target"
    r"|model\.py.*(summarize|json_document|to_json))|render/plan\.py.*(write_|text_lines)"
    r"|json/encoder\.py.*\(encode\)"
)
# Rows of a profile worth showing: the product's functions and the standard JSON encoder;
# not the CLI's wrappers, module imports or comprehensions (their function is shown).
SHOWN = re.compile(r"/reconciler/|/python3\.\d+/json/")
HIDDEN = re.compile(
    r"/reconciler/(cli/__init__|cli/options|__main__)\.py|<(module|genexpr|listcomp)>"
)


def cli(python: str, root: Path, url: str, fmt: str) -> list[str]:
    args = [python, "-m", "reconciler", "plan", "--store", url, "--dir", str(root)]
    help_text = subprocess.run(
        [python, "-m", "reconciler", "plan", "--help"],
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "--no-cache" in help_text:  # cold: whatever cache the command has is not read
        args.append("--no-cache")
    return [*args, "--format", fmt]


def run_cold(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MiB) of one CLI process;
    stdout to /dev/null."""
    with tempfile.TemporaryDirectory(prefix="adoption-cache-") as cache:
        env = {**os.environ, "NO_COLOR": "1", "XDG_CACHE_HOME": cache}
        start = time.perf_counter()
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %M", *args],
            cwd=cache,  # `-m` puts the cwd first on sys.path: not this checkout's package
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            check=False,
        )
        wall = time.perf_counter() - start
    if proc.returncode not in (0, 2):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    user, system, rss_kb = re.findall(r"^([\d.]+) ([\d.]+) (\d+)$", proc.stderr, re.M)[-1]
    return wall, float(user) + float(system), int(rss_kb) / 1024


def checkout(python: str) -> str:
    """Where `python -m reconciler` comes from, and its git commit."""
    where = subprocess.run(
        [python, "-c", "import reconciler, os; print(os.path.dirname(reconciler.__file__))"],
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    commit = subprocess.run(
        ["git", "-C", where, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    return f"{Path(where).parent} at {commit or 'no commit'}"


def cpu_floor(root: Path, url: str) -> tuple[float, float]:
    """The floor's wall and CPU seconds (this process: the parse; the SELECT's rows decoded)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    wall = floor(root, url)
    after = resource.getrusage(resource.RUSAGE_SELF)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def profile(args: list[str], out: Path) -> str:
    """The top functions by cumulative time of one run under cProfile."""
    python, _, _, *rest = args
    subprocess.run(
        [python, "-m", "cProfile", "-o", str(out), "-m", "reconciler", *rest],
        cwd=out.parent,  # not this checkout's package first on sys.path
        stdout=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
        check=True,
    )
    stats = pstats.Stats(str(out))
    rows = []
    for func, (_, calls, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        where = f"{func[0]}:{func[1]}({func[2]})"
        if SHOWN.search(where) and not HIDDEN.search(where):
            short = re.sub(r"^.*/(reconciler|json)/", r"\1/", where)
            rows.append((cumulative, calls, short))
    rows.sort(reverse=True)
    total = max((t for t, _, _ in rows), default=0.0)
    text = io.StringIO()
    text.write(f"{'cumulative s':>12}  {'share':>6}  {'calls':>9}  function\n")
    shown = rows[:TOP] + [row for row in rows[TOP:] if ALWAYS.search(row[2])]
    for cumulative, calls, where in shown:
        share = cumulative / total if total else 0.0
        text.write(f"{cumulative:>12.2f}  {share:>6.1%}  {calls:>9}  {where}\n")
    return text.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", metavar="PYTHON", help="also time this Python's CLI")
    parser.add_argument("--profile", action="store_true", help="cProfile json and text runs")
    parser.add_argument("--results", type=Path, help="append a section to this markdown file")
    args = parser.parse_args(argv)
    root = fleet(args.clients)
    pythons = {"this tree": sys.executable}
    if args.baseline:
        pythons = {"baseline": args.baseline, **pythons}
    floors: list[tuple[float, float]] = []
    runs: dict[str, list[tuple[float, float]]] = {label: [] for label in pythons}
    rss: dict[str, float] = dict.fromkeys(pythons, 0.0)
    profiles: dict[str, str] = {}
    with fresh_database("adoption") as url:
        seed_live(url, root, registry_rows=False)
        commands = {label: cli(py, root, url, "json") for label, py in pythons.items()}
        run_cold(commands["this tree"])  # warm-up: page cache, compiled bytecode
        for _ in range(args.repeat):  # interleaved: the same machine load for each
            floors.append(cpu_floor(root, url))
            for label, command in commands.items():
                wall, cpu, peak = run_cold(command)
                runs[label].append((wall, cpu))
                rss[label] = max(rss[label], peak)
        if args.profile:
            with tempfile.TemporaryDirectory() as tmp:
                for label, python in pythons.items():
                    for fmt in ("json", "text"):
                        out = Path(tmp) / f"{fmt}.prof"
                        profiles[f"{label}, --format {fmt}"] = profile(
                            cli(python, root, url, fmt), out
                        )
    flo, flo_cpu = min(w for w, _ in floors), min(c for _, c in floors)
    load = os.getloadavg()[0]
    lines = [
        f"clients                 {args.clients}",
        f"floor (parse + SELECT)  wall {flo:.2f} s, CPU {flo_cpu:.2f} s (best of {args.repeat}: "
        + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in floors)
        + ")",
    ]
    for label in pythons:
        wall = min(w for w, _ in runs[label])
        cpu = min(c for _, c in runs[label])
        lines.append(
            f"adoption plan, {label:9s} wall {wall:.2f} s = {wall / flo:.2f}x floor "
            f"(target <= 2.5x); CPU {cpu:.2f} s = {cpu / flo_cpu:.2f}x the floor's CPU; "
            f"peak RSS {rss[label]:.0f} MiB"
        )
        lines.append(
            "    runs (wall/CPU s): " + ", ".join(f"{w:.2f}/{c:.2f}" for w, c in runs[label])
        )
    lines.append(f"load average at the end {load:.1f} ({os.cpu_count()} cores)")
    lines += [f"{label}: {checkout(python)}" for label, python in pythons.items()]
    print("\n".join(lines))
    for title, text in profiles.items():
        print(f"\ncProfile, {title} (top by cumulative time)\n{text}", end="")
    if args.results:
        section = [
            "",
            f"## Adoption plan (issue 15): `python bench/adoption.py --clients {args.clients}`",
            "",
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
            f"{os.cpu_count()} cores, Python {platform.python_version()}.",
            "",
            "```",
            *lines,
            "```",
        ]
        for title, text in profiles.items():
            section += ["", f"cProfile, {title}:", "", "```", text.rstrip("\n"), "```"]
        with args.results.open("a") as out:
            out.write("\n".join(section) + "\n")
        print(f"appended to {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
