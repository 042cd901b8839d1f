"""Helpers of the desired-cache tests (issue 15): run a command warm (with the cache) and with
--no-cache on the same tree, and compare everything the user sees."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.desired import cache
from reconciler.desired.cache_db import FILE_NAME
from reconciler.live.engine import make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import Result, invoke

CACHE_DIR = ".reconciler-cache"


def cache_file(desired: Path) -> Path:
    """Where the cache of `desired` is by default: `.reconciler-cache/` beside it."""
    return desired.parent / CACHE_DIR / FILE_NAME


def sqlite_store(path: Path) -> str:
    """An initialised SQLite store at `path`."""
    url = f"sqlite:///{path}"
    init(make_engine(url))
    return url


def command(verb: str, desired: Path, store: str, *extra: str) -> list[str]:
    """`verb` on `desired` (and `store` where the verb reads one), in JSON."""
    args = [verb, "--dir", str(desired), "--format", "json", *extra]
    return args if verb == "validate" else [*args, "--store", store]


def warm_and_cold(
    capsys: pytest.CaptureFixture[str], desired: Path, args: list[str]
) -> tuple[Result, Result]:
    """The command with the cache, then with --no-cache, both run from the tree's parent
    (paths in the output are relative to the current directory)."""
    with contextlib.chdir(desired.parent):
        warm = invoke(capsys, *args)
        cold = invoke(capsys, *args, "--no-cache")
    return warm, cold


def assert_same(warm: Result, cold: Result, what: object = "") -> None:
    """Exit code, stdout and stderr exactly as --no-cache gives them."""
    assert (warm.code, warm.out, warm.err) == (cold.code, cold.out, cold.err), what


@contextlib.contextmanager
def own_cache_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The cache where it is by default, `.reconciler-cache/` beside each test's own tree in
    tmp (tests/conftest.py points RECONCILER_CACHE_DIR at one per test; these tests are about
    the default place). Each in-process run sets the cache's context for this thread; it is
    put back after the test so no other test inherits it."""
    monkeypatch.delenv("RECONCILER_CACHE_DIR", raising=False)
    token = cache._CONFIG.set(None)
    try:
        yield
    finally:
        cache._CONFIG.reset(token)
