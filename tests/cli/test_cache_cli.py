"""`reconciler cache stats|clear`, --no-cache, RECONCILER_NO_CACHE and RECONCILER_CACHE_DIR
(issue 15): where the desired-state cache is, what it holds, and when there is none."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.desired import cache
from reconciler.live.engine import dispose_engine
from tests.cli.cli_helpers import copy_example, invoke
from tests.desired.cache_helpers import CACHE_DIR, cache_file, own_cache_config, sqlite_store


@pytest.fixture(autouse=True)
def _cache_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with own_cache_config(monkeypatch):
        yield


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "store").mkdir()
    url = sqlite_store(tmp_path / "store" / "store.db")
    yield url
    dispose_engine(url)


def _size(path: Path) -> int:
    """The cache's bytes on disk: the database and its WAL files."""
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def test_stats_and_clear_text(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "RACY_SECONDS", 1e9)  # every file is too new to stamp
    desired = copy_example(tmp_path)
    path = cache_file(desired)
    stats = ("cache", "stats", "--dir", str(desired))
    assert invoke(capsys, *stats).out == f"no cache at {path}\n"
    assert not path.parent.exists()  # stats creates nothing

    assert invoke(capsys, "validate", "--dir", str(desired)).code == 0
    gc.collect()  # the run's connection is closed (its WAL folded into the file), as at exit
    shown = invoke(capsys, *stats)
    assert (shown.code, shown.err) == (0, "")
    assert shown.out == (
        f"cache {path}: {_size(path):,} bytes; 6 client file outcomes, 0 file stamps, "
        "1 fleet verdicts, 0 fleet listings, 0 clients remembered unchanged\n"
    )

    cleared = invoke(capsys, "cache", "clear", "--dir", str(desired))
    assert (cleared.code, cleared.out, cleared.err) == (0, f"removed {path}\n", "")
    assert sorted(p.name for p in path.parent.iterdir()) == [".gitignore"]
    assert invoke(capsys, "cache", "clear", "--dir", str(desired)).out == f"no cache at {path}\n"
    assert invoke(capsys, *stats).out == f"no cache at {path}\n"


def test_stats_json(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)
    desired = copy_example(tmp_path)
    path = cache_file(desired)
    stats = ("cache", "stats", "--dir", str(desired), "--format", "json")
    assert invoke(capsys, *stats).json() == {
        "exists": False,
        "format_version": 1,
        "path": str(path),
    }
    time.sleep(0.05)  # the copied files are older than their stamps
    assert invoke(capsys, "plan", "--dir", str(desired), "--store", store).code == 0
    gc.collect()  # the run's connection is closed (its WAL folded into the file), as at exit
    shown = invoke(capsys, *stats)
    assert (shown.code, shown.err) == (0, "")
    assert shown.json() == {
        "bytes": _size(path),
        "entries": 6,
        "exists": True,
        "format_version": 1,
        "insync": 0,  # the plan memo: no client is unchanged against an empty store
        "path": str(path),
        "snapshots": 1,  # the listing of clients/ the verdict and the client-id index use
        "stamps": 6,
        "verdicts": 1,
    }
    assert shown.out.startswith('{\n  "bytes": ')  # indented, sorted keys


@pytest.mark.parametrize("how", ["--no-cache", "RECONCILER_NO_CACHE=1"])
def test_no_cache_leaves_nothing_behind(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    desired = copy_example(tmp_path)
    flag = [how] if how.startswith("--") else []
    if not flag:
        monkeypatch.setenv("RECONCILER_NO_CACHE", "1")
    assert invoke(capsys, "validate", "--dir", str(desired), *flag).code == 0
    for verb in ("plan", "drift"):
        assert invoke(capsys, verb, "--dir", str(desired), "--store", store, *flag).code == 0
    client = "0ee6a19a-b01d-4773-8a91-d6023ddab802"
    status = ("status", "--dir", str(desired), "--store", store, "--client", client, *flag)
    assert invoke(capsys, *status).code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["desired-state", "store"]
    assert not (tmp_path / CACHE_DIR).exists()


def test_no_cache_of_one_run_does_not_carry_over(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desired = copy_example(tmp_path)
    assert invoke(capsys, "validate", "--dir", str(desired), "--no-cache").code == 0
    assert not cache_file(desired).exists()
    monkeypatch.setenv("RECONCILER_NO_CACHE", "0")  # 0: the cache is on
    assert invoke(capsys, "validate", "--dir", str(desired)).code == 0
    assert cache_file(desired).exists()


def test_cache_dir_moves_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desired = copy_example(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "cache"
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(elsewhere))
    assert invoke(capsys, "validate", "--dir", str(desired)).code == 0
    assert not (tmp_path / CACHE_DIR).exists()
    assert sorted(p.name for p in elsewhere.iterdir())[:2] == [".gitignore", "desired.sqlite"]
    shown = invoke(capsys, "cache", "stats", "--dir", str(desired), "--format", "json").json()
    assert (shown["path"], shown["entries"], shown["verdicts"]) == (
        str(elsewhere / "desired.sqlite"),
        6,
        1,
    )
    cleared = invoke(capsys, "cache", "clear", "--dir", str(desired))
    assert cleared.out == f"removed {elsewhere / 'desired.sqlite'}\n"
    assert not (elsewhere / "desired.sqlite").exists()


def test_cache_help_documents_where_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    shown = invoke(capsys, "cache", "--help")
    assert shown.code == 0
    text = " ".join(shown.out.split())
    for words in (
        "It lives in `.reconciler-cache/` beside the desired-state directory (git ignores it), "
        "or in RECONCILER_CACHE_DIR; if neither can be written, under $XDG_CACHE_HOME.",
        "Bypass it for one run with `--no-cache` (or RECONCILER_NO_CACHE=1).",
        "stats Where the cache of a desired-state directory is",
        "clear Delete the cache of a desired-state directory",
    ):
        assert words in text
    top = " ".join(invoke(capsys, "--help").out.split())
    assert "cache Show or clear the desired-state cache that makes warm runs fast." in top


def test_an_unwritable_place_falls_back_to_the_user_cache(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`.reconciler-cache` beside the tree cannot be a directory (a file is there): the cache
    goes under $XDG_CACHE_HOME, silently, and answers as --no-cache does."""
    desired = copy_example(tmp_path)
    (tmp_path / CACHE_DIR).write_text("not a directory\n")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    args = ("validate", "--dir", str(desired), "--format", "json")
    warm, cold = invoke(capsys, *args), invoke(capsys, *args, "--no-cache")
    assert (warm.code, warm.out, warm.err) == (cold.code, cold.out, cold.err) == (0, cold.out, "")
    assert (tmp_path / CACHE_DIR).read_text() == "not a directory\n"
    assert (tmp_path / "xdg" / "module-reconciler" / "desired.sqlite").is_file()
