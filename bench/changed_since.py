"""Benchmark `plan --changed-since` and `drift` on a large fleet in a real git repository (issue 6).

    python bench/changed_since.py [--clients 10000] [--repeat 3] [--store URL]

Generates a fleet with bench/gen_fleet.py into a fresh git repository (one commit), applies it
to a fresh store (SQLite by default) so history exists, then times, best of --repeat:

- `plan --changed-since HEAD` with one client edited in the working tree (target < 0.5 s),
  in-process and as a CLI process (interpreter start included);
- the same with one profile edited (fan-out: the whole working tree is resolved once);
- `plan` and `drift` over the whole fleet (target: drift within 2x of plan).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gen_fleet import generate

from reconciler import api
from reconciler.live.engine import dispose_engines, make_engine
from reconciler.live.migrate import init

# What a plan must import whatever it plans: the store layer, the schema validator, the parser.
IMPORT_FLOOR = "import sqlalchemy, jsonschema, yaml, click"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}


def git(repo: Path, *args: str) -> None:
    env = {**os.environ, **GIT_ENV}
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=env, check=True)


def best(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def edit_one(path: Path) -> None:
    text = path.read_text()
    match = re.search(r"max_fields: (\d+)", text)
    assert match, path
    path.write_text(text.replace(match.group(0), f"max_fields: {int(match.group(1)) + 1}", 1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--store", default=None, help="store URL (default: a fresh SQLite file)")
    parser.add_argument(
        "--skip-fleet", action="store_true", help="skip the whole-fleet plan and drift timings"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-changed-") as tmp:
        repo = Path(tmp) / "repo"
        desired = repo / "desired-state"
        start = time.perf_counter()
        generate(args.clients, desired, seed=0)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "fleet")
        print(f"fleet: {args.clients} clients in git, {time.perf_counter() - start:.1f} s")
        store = args.store or f"sqlite:///{tmp}/live.db"
        init(make_engine(store))
        start = time.perf_counter()
        report = api.apply(store, api.plan(store, str(desired)), force=True)
        print(f"apply (setup): {len(report.results)} clients, {time.perf_counter() - start:.1f} s")

        client = sorted((desired / "clients").glob("*.yaml"))[len(report.results) // 2]
        edit_one(client)
        one, planned = best(
            lambda: api.plan(store, str(desired), changed_since="HEAD"), args.repeat
        )
        assert planned.changed_since is not None
        assert len(planned.changed_since.changed) == 1
        cli = [sys.executable, "-m", "reconciler", "plan", "--store", store, "--dir", str(desired)]
        cli_time, _ = best(
            lambda: subprocess.run(
                [*cli, "--changed-since", "HEAD", "--format", "json"],
                check=True,
                capture_output=True,
            ),
            args.repeat,
        )
        floor, _ = best(
            lambda: subprocess.run([sys.executable, "-c", IMPORT_FLOOR], check=True), args.repeat
        )
        print(f"plan --changed-since, 1 client edited: {one:.3f} s in-process "
              f"(target < 0.5 s), {cli_time:.3f} s as a CLI process")  # fmt: skip
        print(f"  of which the interpreter and the libraries every plan needs take "
              f"{floor:.3f} s (`python -c '{IMPORT_FLOOR}'`)")  # fmt: skip
        git(repo, "checkout", "-q", "--", ".")

        profile = desired / "profiles" / "enterprise.yaml"
        profile.write_text(profile.read_text().replace("sla_hours: 4", "sla_hours: 2"))
        fan, planned = best(
            lambda: api.plan(store, str(desired), changed_since="HEAD"), args.repeat
        )
        since = planned.changed_since
        assert since is not None
        print(f"plan --changed-since, 1 profile edited: {fan:.3f} s "
              f"({since.compared} clients compared, {len(since.changed)} changed)")  # fmt: skip
        git(repo, "checkout", "-q", "--", ".")

        if args.skip_fleet:
            dispose_engines()
            return 0
        full, _ = best(lambda: api.plan(store, str(desired)), args.repeat)
        drift, _ = best(lambda: api.drift(store, str(desired)), args.repeat)
        print(f"plan, whole fleet: {full:.3f} s")
        print(f"drift, whole fleet: {drift:.3f} s = {drift / full:.2f}x plan (target <= 2x)")
        dispose_engines()
    return 0


if __name__ == "__main__":
    sys.exit(main())
