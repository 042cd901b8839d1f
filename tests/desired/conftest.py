"""Fixture trees for desired-state tests: the small base tree and overlays on a copy of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from reconciler.live.engine import dispose_engine
from tests.desired.cache_helpers import own_cache_config, sqlite_store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "desired"
BASE = FIXTURES / "base"
RULES = FIXTURES / "rules"
REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired-state"

Tree = Callable[..., Path]


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """A copy of the base tree in tmp_path, with files added or replaced: tree({"a.yaml": "..."})."""

    def make(files: dict[str, str | bytes] | None = None, *, base: Path = BASE) -> Path:
        return build_tree(tmp_path / "desired", files, base=base)

    return make


def build_tree(
    root: Path, files: dict[str, str | bytes] | None = None, *, base: Path = BASE
) -> Path:
    """Copy `base` to `root` and write `files` over it."""
    shutil.copytree(base, root, dirs_exist_ok=True)
    for rel, content in (files or {}).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def overlay(rule: Path) -> dict[str, bytes]:
    """The files of a rule fixture (all but expected.txt), by path relative to the tree."""
    return {
        f.relative_to(rule).as_posix(): f.read_bytes()
        for f in sorted(rule.rglob("*"))
        if f.is_file() and f.name != "expected.txt"
    }


@pytest.fixture
def own_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The desired cache in a directory of the test's own, its settings restored after."""
    with own_cache_config(monkeypatch):
        yield


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    """An initialised SQLite store in the test's tmp_path (the cache tests' store)."""
    url = sqlite_store(tmp_path / "store.db")
    yield url
    dispose_engine(url)
