"""The cache file itself (issue 15): a damaged, foreign or altered file is never trusted (the
command answers as --no-cache does, says so in one warning, and the cache is rebuilt); several
processes share one file; it is private to its user and git never sees it."""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from reconciler.desired.cache_db import checksum
from tests.cli.cli_helpers import EXAMPLE, REPO, Result, invoke
from tests.desired.cache_helpers import (
    assert_same,
    cache_file,
    command,
    warm_and_cold,
)
from tests.git_helpers import commit_all, example_repo, git

ACME_FILE = "clients/acme-dental.yaml"


pytestmark = pytest.mark.usefixtures("own_cache")  # tests/desired/conftest.py


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    tree = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, tree)
    return tree


def _stats(capsys: pytest.CaptureFixture[str], desired: Path) -> dict[str, object]:
    result = invoke(capsys, "cache", "stats", "--dir", str(desired), "--format", "json")
    assert (result.code, result.err) == (0, "")
    stats: dict[str, object] = result.json()
    return stats


def _warm_cache(capsys: pytest.CaptureFixture[str], desired: Path, store: str) -> Path:
    """A complete cache of the tree (6 entries, the verdict), its WAL folded into the file."""
    with contextlib.chdir(desired.parent):
        assert invoke(capsys, *command("plan", desired, store)).code == 0
    gc.collect()  # the run's connection is closed: SQLite checkpoints its WAL into the file
    path = cache_file(desired)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert _counts(capsys, desired) == (6, 1)
    return path


def _counts(capsys: pytest.CaptureFixture[str], desired: Path) -> tuple[object, object]:
    stats = _stats(capsys, desired)
    return stats.get("entries"), stats.get("verdicts")


def _alter(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statement in statements:
            conn.execute(statement)


def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 200)


def _truncated(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def _other_format(path: Path) -> None:
    _alter(path, "UPDATE meta SET value = 'reconciler-desired-cache 0' WHERE key = 'format'")


def _payload_altered(path: Path) -> None:
    """One entry's payload replaced by another file's, its checksum left as it was."""
    _alter(
        path,
        "UPDATE entries SET payload = (SELECT payload FROM entries WHERE path = "
        "'clients/bright-smiles.yaml') WHERE path = 'clients/acme-dental.yaml'",
    )


def _payload_undecodable(path: Path) -> None:
    """A payload that is not an outcome, with a checksum that matches it."""
    payload = b'{"not": "an outcome"}'
    _alter(
        path,
        f"UPDATE entries SET payload = x'{payload.hex()}', checksum = '{checksum(payload)}' "
        "WHERE path = 'clients/acme-dental.yaml'",
    )


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage bytes": _garbage,
    "truncated": _truncated,
    "another format": _other_format,
    "payload altered": _payload_altered,
    "payload not an outcome": _payload_undecodable,
}


@pytest.mark.parametrize("damage", list(DAMAGE), ids=list(DAMAGE))
def test_a_damaged_cache_is_ignored_with_one_warning_and_rebuilt(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str, damage: str
) -> None:
    cold_result = warm_and_cold(capsys, desired, command("plan", desired, store))[1]
    path = _warm_cache(capsys, desired, store)
    DAMAGE[damage](path)
    with contextlib.chdir(desired.parent):
        damaged = invoke(capsys, *command("plan", desired, store))
    assert (damaged.code, damaged.out) == (cold_result.code, cold_result.out)
    [line] = damaged.err.splitlines()
    assert "WARNING reconciler.desired.cache: desired cache" in line
    assert "ignored and rebuilt" in line
    warm, cold = warm_and_cold(capsys, desired, command("plan", desired, store))
    assert_same(warm, cold)
    assert warm.err == ""
    assert _counts(capsys, desired) == (6, 1)  # rebuilt: every file, and the verdict


def test_a_damaged_cache_with_client_gives_the_no_cache_answer(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """The client-id index of a damaged file is not used either."""
    path = _warm_cache(capsys, desired, store)
    _payload_altered(path)
    args = command("plan", desired, store, "--client", "0ee6a19a-b01d-4773-8a91-d6023ddab802")
    warm, cold = warm_and_cold(capsys, desired, args)
    assert (warm.code, warm.out) == (cold.code, cold.out)
    assert len(warm.err.splitlines()) == 1


def _plan_process(desired: Path, store: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "reconciler", *command("plan", desired, store), *extra],
        cwd=desired.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _parallel(desired: Path, store: str, count: int) -> list[Result]:
    processes = [_plan_process(desired, store) for _ in range(count)]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append(Result(process.returncode, out, err))
    return results


def test_processes_share_one_cache(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """Four processes on one tree and one cache, cold and then warm: all succeed, with the
    --no-cache output, and the cache ends complete."""
    expected = _plan_process(desired, store, "--no-cache").communicate(timeout=120)
    assert not cache_file(desired).exists()
    for _ in ("cold", "warm"):
        results = _parallel(desired, store, 4)
        assert [(r.code, r.out, r.err) for r in results] == [(0, *expected)] * 4
    assert expected[1] == ""
    assert _counts(capsys, desired) == (6, 1)


def test_cache_directory_is_private_and_ignored_by_git(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str
) -> None:
    root, desired = example_repo(tmp_path)
    with contextlib.chdir(root):
        assert invoke(capsys, *command("plan", desired, store)).code == 0
    directory = root / ".reconciler-cache"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    files = sorted(p.name for p in directory.iterdir())
    assert files[:2] == [".gitignore", "desired.sqlite"]
    for name in files[1:]:  # the database, and its -wal and -shm files while open
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name
    assert "*" in (directory / ".gitignore").read_text().splitlines()
    assert git(root, "status", "--porcelain", "--untracked-files=all", "--ignored=no") == ""
    commit_all(root, "everything `git add -A` takes")  # the cache is not among it
    assert ".reconciler-cache" not in git(root, "ls-files")


def test_a_damaged_cache_warns_once_in_status_client(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """status --client reads the claimants twice (to learn their claims, then to load them):
    the cache found damaged the first time is not used, nor warned about, again."""
    path = _warm_cache(capsys, desired, store)
    _payload_altered(path)
    args = command("status", desired, store, "--client", "0ee6a19a-b01d-4773-8a91-d6023ddab802")
    warm, cold = warm_and_cold(capsys, desired, args)
    assert (warm.code, warm.out) == (cold.code, cold.out)
    [line] = warm.err.splitlines()[: -len(cold.err.splitlines()) or None]
    assert "WARNING reconciler.desired.cache: desired cache" in line
    assert warm.err.endswith(cold.err)


def test_a_damaged_cache_warns_once_in_changed_since(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str
) -> None:
    """plan --changed-since reads the working tree and the revision through one cache file:
    found damaged in the first, it is not used, nor warned about, in the second."""
    root, desired = example_repo(tmp_path)
    acme = desired / ACME_FILE
    acme.write_text(acme.read_text().replace("max_fields: 60", "max_fields: 61"))
    args = command("plan", desired, store, "--changed-since", "HEAD")
    with contextlib.chdir(root):
        assert invoke(capsys, *args).code == 0
    gc.collect()
    _alter(cache_file(desired), f"UPDATE entries SET payload = x'00' WHERE path = '{ACME_FILE}'")
    warm, cold = warm_and_cold(capsys, desired, args)
    assert (warm.code, warm.out) == (cold.code, cold.out)
    [line] = warm.err.splitlines()
    assert "WARNING reconciler.desired.cache: desired cache" in line
