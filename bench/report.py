"""One command for the scale report (issue 8).

    python bench/report.py [--sizes 1000 10000 100000] [--out bench/RESULTS.md]

For each size: generate a fleet (bench/gen_fleet.py, cached), make it a git repository, create a
fresh PostgreSQL database (RECONCILER_TEST_PG's server) with live state equal to desired except
~10% of clients, then time each command as a user runs it (a CLI subprocess, wall time and peak
RSS from GNU time): validate, plan, drift, apply, `plan --changed-since HEAD` with one changed
client, and `status` of one client; next to the floor measured in the same run (CSafeLoader
parse of the same files + one SELECT of all live rows). validate, plan and drift run cold (the
desired-state cache cleared) and warm (the next run). Prints a markdown table and writes it,
with the date and the machine, at the top of --out (the sections after it are kept).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fleet, floor, fresh_database, seed_live

REPO = Path(__file__).resolve().parent.parent
RECONCILER = [sys.executable, "-m", "reconciler"]
# What every planning command imports whatever it plans: store layer and driver, the schema
# validator, the YAML parser, the CLI framework.
IMPORT_FLOOR = "import sqlalchemy, psycopg, jsonschema, yaml, click"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def measure(args: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and exit code of one command."""
    start = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    wall = time.perf_counter() - start
    rss_kb = int(re.findall(r"^(\d+)$", proc.stderr, re.M)[-1])
    if proc.returncode not in (0, 2):
        tail = "\n".join(proc.stderr.splitlines()[-5:])
        raise SystemExit(f"{' '.join(args)} failed with {proc.returncode}:\n{tail}")
    return wall, rss_kb / 1024, proc.returncode


def git_repo(root: Path) -> None:
    """Commit the fleet once (cached by a marker), so --changed-since has a base."""
    if (root / ".git").exists():
        subprocess.run(["git", "checkout", "-q", "--", "."], cwd=root, check=True)
        return
    env = {**os.environ, **GIT_ENV}
    for cmd in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "fleet"],
    ):
        subprocess.run(cmd, cwd=root, check=True, env=env)


def middle_client(root: Path) -> str:
    """The client_id of the file one_client_edit changes."""
    text = _middle_file(root).read_text()
    return re.search(r"^client_id: (\S+)", text, re.M).group(1)  # type: ignore[union-attr]


def _middle_file(root: Path) -> Path:
    files = sorted((root / "clients").glob("*.yaml"))
    return files[len(files) // 2]


def one_client_edit(root: Path) -> str:
    """Change one client file in the working tree; return its client_id."""
    path = _middle_file(root)
    text = path.read_text()
    path.write_text(
        text.replace("primary_color:", 'primary_color: "#abcdef"\n    old_primary_color:', 1)
    )
    return re.search(r"^client_id: (\S+)", text, re.M).group(1)  # type: ignore[union-attr]


Row = tuple[str, float | None, float, float, float]  # label, cold s, warm s, peak MiB, floor


def clear_cache(root: Path) -> None:
    subprocess.run(
        [*RECONCILER, "cache", "clear", "--dir", str(root)], check=True, capture_output=True
    )


def cold_warm(args: list[str], root: Path) -> tuple[float, float, float]:
    """Cold (cache cleared first) and warm (the next run) wall time, and the larger peak RSS."""
    clear_cache(root)
    cold, rss_cold, _ = measure(args)
    warm, rss_warm, _ = measure(args)
    return cold, warm, max(rss_cold, rss_warm)


def run_size(n: int) -> list[Row]:
    root = fleet(n)
    git_repo(root)
    rows: list[Row] = []
    with fresh_database() as url:
        seed_live(url, root)
        base = ["--store", url, "--dir", str(root)]
        flo = floor(root, url)
        rows.append(("floor (parse + SELECT)", None, flo, 0.0, flo))
        for label, args in (
            ("validate", [*RECONCILER, "validate", str(root)]),
            ("plan (~10% drift)", [*RECONCILER, "plan", *base, "--format", "json"]),
            ("drift", [*RECONCILER, "drift", *base, "--format", "json"]),
        ):
            cold, warm, rss = cold_warm(args, root)
            rows.append((label, cold, warm, rss, flo))
        client_id = middle_client(root)
        for label, args in (
            ("plan --client (1 client)", [*RECONCILER, "plan", *base, "--client", client_id]),
            ("status --client (1 client)", [*RECONCILER, "status", "--client", client_id, *base]),
        ):
            runs = [measure(args) for _ in range(3)]
            wall, rss = min(r[0] for r in runs), max(r[1] for r in runs)
            rows.append((f"{label}, best of 3", None, wall, rss, flo))
        one_client_edit(root)
        changed = [*RECONCILER, "plan", *base, "--changed-since", "HEAD", "--format", "json"]
        runs = [measure(changed) for _ in range(3)]
        wall, rss = min(r[0] for r in runs), max(r[1] for r in runs)
        rows.append(("plan --changed-since (1 client), best of 3", None, wall, rss, flo))
        git_repo(root)  # undo the edit
        wall, rss, _ = measure([*RECONCILER, "apply", "--yes", "--force", *base])
        rows.append(("apply (~10% changed)", None, wall, rss, flo))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    # As installed (pip writes the bytecode): with PYTHONDONTWRITEBYTECODE set, every command
    # would otherwise compile the package from source, ~0.3-0.6 s of each single-client row.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "reconciler")], check=True)
    results = {n: run_size(n) for n in args.sizes}
    imports = min(measure([sys.executable, "-c", IMPORT_FLOOR])[0] for _ in range(3))
    startup = min(measure([*RECONCILER, "--version"])[0] for _ in range(3))
    cores = os.cpu_count()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        "# Benchmark results",
        "",
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {cores} cores, "
        f"{mem:.0f} GiB, Python {platform.python_version()}, PostgreSQL on 127.0.0.1. "
        "Wall time and peak RSS of each CLI command (a fresh process, as users run it). "
        "`cold`: the desired-state cache cleared first; `warm`: the next run, nothing changed "
        "in the tree (single-client rows and apply run warm). `x floor` = time / (CSafeLoader "
        "parse of the same files + one SELECT of all live rows), measured in the same run.",
        "",
        "| clients | command | cold s | warm s | peak RSS MiB | cold x floor | warm x floor |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, rows in results.items():
        for label, cold, warm, rss, flo in rows:
            rss_text = f"{rss:.0f}" if rss else "-"
            cold_s = f"{cold:.2f}" if cold is not None else "-"
            cold_x = f"{cold / flo:.2f}" if cold is not None else "-"
            lines.append(
                f"| {n:,} | {label} | {cold_s} | {warm:.2f} | {rss_text} | {cold_x} | "
                f"{warm / flo:.2f} |"
            )
    lines += [
        "",
        f"Start-up: `reconciler --version` {startup:.2f} s; import floor of a command that "
        f"plans {imports:.2f} s (`python -c '{IMPORT_FLOOR}'`), best of 3.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    previous = args.out.read_text() if args.out.exists() else ""
    marker = "\n## "
    rest = previous[previous.index(marker) :] if marker in previous else ""
    args.out.write_text(text + rest)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
