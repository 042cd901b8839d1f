"""Fleets, raw snapshots and reconciler subprocesses for the fault-injection tests."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.gen_fleet import generate
from tests.helpers import Query, add_clients, legacy_rows, registry_rows, run_sql

LEGACY_DATA = (
    "modules_enabled",
    "theme_overrides",
    "consultation_config",
    "plan_catalog_overrides",
    "catalog_overrides",
)
Snapshot = dict[str, tuple[Any, ...]]
_THEME = re.compile(r"^overrides:\n  theme:\n(    trial: \d+\n)?", re.MULTILINE)


def make_fleet(store_url: str, dest: Path, n: int, seed: int = 7) -> tuple[Path, list[str]]:
    """A generated desired-state tree of `n` clients, all known to the store's clients table."""
    ids = generate(n, dest, seed)
    add_clients(store_url, ids)
    return dest, ids


def mark_trial(desired: Path, trial: int) -> None:
    """Give every client a new theme value, so each trial changes every written client."""
    for path in sorted((desired / "clients").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        path.write_text(
            _THEME.sub(f"overrides:\n  theme:\n    trial: {trial}\n", text, count=1),
            encoding="utf-8",
        )


def snapshot(url: str) -> Snapshot:
    """Each client's legacy data columns and registry rows, read with plain SQL."""
    state: dict[str, list[Any]] = {}
    for row in legacy_rows(url):
        state.setdefault(row["client_id"], [None, ()])[0] = tuple(row[k] for k in LEGACY_DATA)
    registry: dict[str, list[tuple[Any, ...]]] = {}
    for row in registry_rows(url):
        registry.setdefault(row["client_id"], []).append(
            (row["module_id"], row["enabled"], row["version"], row["settings"])
        )
    for cid, rows in registry.items():
        state.setdefault(cid, [None, ()])[1] = tuple(rows)
    return {cid: tuple(value) for cid, value in state.items()}


def client_state(snap: Snapshot, cid: str) -> tuple[Any, ...]:
    return snap.get(cid, (None, ()))


def runs(url: str) -> list[tuple[int, str, str]]:
    """(id, kind, status) of every recorded run, oldest first."""
    rows = run_sql(url, "SELECT id, kind, status FROM reconciler_runs ORDER BY id")
    return [(int(i), str(k), str(s)) for i, k, s in rows]


def run_clients(url: str, run_id: int) -> list[str]:
    """Clients a run's history claims, sorted."""
    rows = run_sql(
        url,
        "SELECT client_id FROM reconciler_run_clients WHERE run_id = %s ORDER BY client_id",
        [run_id],
    )
    return sorted(str(r[0]) for r in rows)


def count_run_clients(url: str, session: Query | None = None) -> int:
    """Client rows of run history committed so far; on `session` (tests.helpers.sql_session)
    when given, as a poll every few milliseconds must be."""
    statement = "SELECT count(*) FROM reconciler_run_clients"
    rows = session(statement) if session else run_sql(url, statement)
    return int(rows[0][0])


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`python -m reconciler ARGS` to completion."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class Running:
    """A reconciler subprocess whose output goes to files (no pipe can fill up and block it)."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path

    def wait(self, timeout: float = 300) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        return code, self.out.read_text(), self.err.read_text()


_started: list[subprocess.Popen[bytes]] = []


def start(tmp: Path, name: str, *args: str) -> Running:
    out, err = tmp / f"{name}.out", tmp / f"{name}.err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "reconciler", *args], stdout=o, stderr=e)
    _started.append(proc)
    return Running(proc, out, err)


def reap_started() -> None:
    """Kill and wait for every subprocess a test started and left running (a failed assertion
    must not leave applies writing into the next test's database)."""
    while _started:
        proc = _started.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def wait_until(condition: Callable[[], bool], proc: subprocess.Popen[bytes], poll: float) -> bool:
    """Poll until `condition` holds (True) or the process ended (False)."""
    while not condition():
        if proc.poll() is not None:
            return False
        time.sleep(poll)
    return True


def assert_clean_stderr(err: str, allowed: Sequence[str] = ()) -> None:
    """No traceback, no "unexpected" error: every error line is one the tool means to print."""
    assert "Traceback" not in err, err
    assert "error: unexpected" not in err, err
    for line in err.splitlines():
        if line.startswith("error: "):
            assert any(a in line for a in allowed), line
