"""The listing of clients/ (issue 15): once a full walk (or a look-up that knew every file)
recorded it, `plan --client` and `status --client` find the files claiming an id with one
`lstat` pass, no stamp table and no byte of any other file. Any change of a file's path,
size, times, inode or (for a symlink) target is another listing: the commands then look
again, and answer exactly as --no-cache does."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from reconciler.desired import cache
from reconciler.desired.cache_db import CacheFile
from reconciler.desired.source import WorkingTree
from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS, Result, invoke
from tests.desired.cache_helpers import (
    assert_same,
    command,
    warm_and_cold,
)

ACME, BRIGHT = EXAMPLE_IDS["acme-dental"], EXAMPLE_IDS["bright-smiles"]
ACME_FILE = "clients/acme-dental.yaml"
BY_LISTING = "cache index, listing unchanged"


pytestmark = pytest.mark.usefixtures("own_cache")  # tests/desired/conftest.py


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Any]]:
    """What runs read: client files' bytes, and stamp look-ups (None: the whole table)."""
    seen: dict[str, list[Any]] = {"bytes": [], "stamps": []}
    read_bytes, stamps = WorkingTree.read_bytes, CacheFile.stamps

    def counting_read(self: WorkingTree, relpath: str) -> bytes:
        if relpath.startswith("clients/"):
            seen["bytes"].append(relpath)
        return read_bytes(self, relpath)

    def counting_stamps(self: CacheFile, tree: str, paths: Any = None) -> Any:
        seen["stamps"].append(None if paths is None else sorted(paths))
        return stamps(self, tree, paths)

    monkeypatch.setattr(WorkingTree, "read_bytes", counting_read)
    monkeypatch.setattr(CacheFile, "stamps", counting_stamps)
    return seen


@pytest.fixture
def desired(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example, older than its stamps will be (RACY_SECONDS 0)."""
    monkeypatch.setattr(cache, "RACY_SECONDS", 0.0)
    tree = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, tree)
    time.sleep(0.05)
    return tree


def _run(capsys: pytest.CaptureFixture[str], desired: Path, *args: str) -> Result:
    with contextlib.chdir(desired.parent):
        return invoke(capsys, *args)


def _listings(capsys: pytest.CaptureFixture[str], desired: Path) -> int:
    stats = _run(capsys, desired, "cache", "stats", "--dir", str(desired), "--format", "json")
    count: int = stats.json()["snapshots"]
    return count


def _plan_client(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str, client_id: str
) -> tuple[Result, str]:
    """`plan --client` warm (and its log), checked equal to --no-cache."""
    args = command("plan", desired, store, "--client", client_id)
    verbose = _run(capsys, desired, "-v", *args)
    warm, cold = warm_and_cold(capsys, desired, args)
    assert_same(warm, cold, args)
    return warm, verbose.err


def _status_client(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str, client_id: str
) -> Result:
    warm, cold = warm_and_cold(
        capsys, desired, command("status", desired, store, "--client", client_id)
    )
    assert_same(warm, cold)
    return warm


def test_scan_lists_what_list_files_lists(tmp_path: Path) -> None:
    """The cache's one stat pass sees the files `list_files` gives, and notes the same
    ignored ones (their warnings are shown whichever ran)."""
    tree = tmp_path / "tree"
    for rel in ("clients/b.yaml", "clients/a.yml", "clients/z/c.yaml", "clients/notes.txt",
                "clients/.hidden/d.yaml", "clients/UPPER.YAML", "clients/z/.e.yaml",
                "outside/x.yaml"):  # fmt: skip
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("x: 1\n")
    os.symlink(tree / "outside", tree / "clients/linked")
    os.symlink(tree / "outside", tree / "clients/.linked")
    os.symlink(tree / "outside/x.yaml", tree / "clients/link.yaml")
    os.symlink(tree / "nowhere.yaml", tree / "clients/dangling.yaml")
    os.mkfifo(tree / "clients/fifo.yaml")
    listed, scanned = WorkingTree(tree), WorkingTree(tree)
    files = listed.list_files("clients")
    assert files == [
        "clients/a.yml",
        "clients/b.yaml",
        "clients/dangling.yaml",
        "clients/fifo.yaml",
        "clients/link.yaml",
        "clients/z/.e.yaml",
        "clients/z/c.yaml",
    ]
    assert sorted(scanned.scan("clients")) == files
    assert (
        scanned.ignored
        == listed.ignored
        == {
            "clients/UPPER.YAML": "not read: the suffix must be lowercase .yaml or .yml",
            "clients/linked": "not read: a symlink to a directory (files under it are ignored; "
            "move them into the tree)",
        }
    )
    assert WorkingTree(tree).scan("nothing-here") == {}


def test_a_recorded_listing_reads_no_other_file_and_no_stamp_table(
    capsys: pytest.CaptureFixture[str],
    desired: Path,
    store: str,
    reads: dict[str, list[Any]],
) -> None:
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    assert _listings(capsys, desired) == 1
    for verb in ("plan", "status"):
        reads["bytes"].clear()
        reads["stamps"].clear()
        args = command(verb, desired, store, "--client", ACME)
        assert _run(capsys, desired, *args).code == 0
        assert None not in reads["stamps"]  # never the whole table
        assert {p for paths in reads["stamps"] for p in paths} == {ACME_FILE}
        # status looks for the id in the claimant's bytes, as without the cache
        assert reads["bytes"] == ([ACME_FILE] if verb == "status" else [])
    _warm, log = _plan_client(capsys, desired, store, ACME)
    assert f"--client: 1 of 6 client files read ({BY_LISTING})" in log


def test_files_changed_within_the_racy_window_record_no_listing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str
) -> None:
    """Files just written (as the copy is) may change again within the clock's tick without
    their stat changing: no stamp, so no listing, stands for them; after an edit in that
    window the answers are still --no-cache's."""
    desired = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, desired)
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    assert _listings(capsys, desired) == 0
    acme = desired / ACME_FILE
    before = acme.stat()
    acme.write_text(acme.read_text().replace("max_fields: 60", "max_fields: 61"))
    os.utime(acme, ns=(before.st_atime_ns, before.st_mtime_ns))
    warm, log = _plan_client(capsys, desired, store, ACME)
    assert "walking every client file" in log
    assert '"new": 61' in warm.out
    _status_client(capsys, desired, store, ACME)


def _rewrite_same_size(path: Path, old: str, new: str) -> None:
    """Rewrite in place, same size, its mtime set back: only its ctime tells."""
    before = path.stat()
    text = path.read_text()
    assert len(old) == len(new)
    assert old in text
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def test_a_same_size_rewrite_with_its_mtime_set_back_is_another_listing(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """Another file now claims the id too (its bytes rewritten in place, same size, same
    mtime): `plan --client` must fail on the duplicate as --no-cache does."""
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    _rewrite_same_size(desired / "clients/bright-smiles.yaml", BRIGHT, ACME)
    warm, log = _plan_client(capsys, desired, store, ACME)
    assert BY_LISTING not in log
    assert (warm.code, "bright-smiles.yaml" in warm.err) == (1, True)
    status = _status_client(capsys, desired, store, ACME)
    assert "not loaded" in status.out
    _rewrite_same_size(desired / "clients/bright-smiles.yaml", ACME, BRIGHT)
    warm, log = _plan_client(capsys, desired, store, ACME)
    assert warm.code == 0
    warm, log = _plan_client(capsys, desired, store, ACME)  # the walk recorded it again
    assert BY_LISTING in log


def test_a_new_file_claiming_the_same_id_is_seen(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    copy = desired / "clients/acme-copy.yaml"
    copy.write_text((desired / ACME_FILE).read_text().replace("acme-dental", "acme-copy"))
    for _ in range(2):  # the new file unseen, then in the index
        warm, _log = _plan_client(capsys, desired, store, ACME)
        assert warm.code == 1
        assert "acme-copy.yaml" in warm.err
        status = _status_client(capsys, desired, store, ACME)
        assert "not loaded" in status.out


def test_a_deleted_or_renamed_file_is_seen(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    (desired / ACME_FILE).rename(desired / "clients/acme.yaml")  # same inode, size and times
    warm, log = _plan_client(capsys, desired, store, ACME)
    assert BY_LISTING not in log
    assert "clients/acme.yaml" in warm.out
    (desired / "clients/acme.yaml").unlink()
    warm, log = _plan_client(capsys, desired, store, ACME)
    assert warm.code == 1
    assert "not in the desired state" in warm.err
    status = _status_client(capsys, desired, store, ACME)
    assert [c["name"] for c in status.json()["clients"]] == [""]


def test_a_symlinked_client_file_follows_its_target(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """A symlink's own lstat does not change when its target does: the listing holds the
    target's stat too. Here the target of another client's link comes to claim the id."""
    (desired / "shared").mkdir()
    target = desired / "shared/bright.yaml"
    (desired / "clients/bright-smiles.yaml").rename(target)
    os.symlink("../shared/bright.yaml", desired / "clients/bright-smiles.yaml")
    time.sleep(0.05)
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    _warm, log = _plan_client(capsys, desired, store, ACME)
    assert BY_LISTING in log
    target.write_text(target.read_text().replace(BRIGHT, ACME))
    warm, log = _plan_client(capsys, desired, store, ACME)
    assert BY_LISTING not in log
    assert (warm.code, "bright-smiles.yaml" in warm.err) == (1, True)


def test_a_file_that_is_not_read_leaves_the_listing_as_it_is(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """A wrong-case suffix or a hidden folder is not a client file (the scan notes the
    former's warning as list_files does); the answers stay --no-cache's."""
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    (desired / "clients/NEW.YAML").write_text("client_id: x\n")
    (desired / "clients/.drafts").mkdir()
    (desired / "clients/.drafts/acme.yaml").write_text((desired / ACME_FILE).read_text())
    _warm, log = _plan_client(capsys, desired, store, ACME)
    assert BY_LISTING in log
    _status_client(capsys, desired, store, ACME)


def test_status_reads_a_few_unseen_files_and_records_the_listing(
    capsys: pytest.CaptureFixture[str],
    desired: Path,
    store: str,
    reads: dict[str, list[Any]],
) -> None:
    """After an edit the cache has not seen, `status --client` of another client reads the
    edited file (a few unseen files: all of them), so the next run has a listing again."""
    assert _run(capsys, desired, *command("validate", desired, store)).code == 0
    bright = desired / "clients/bright-smiles.yaml"
    bright.write_text(bright.read_text().replace("[foundation]", "[foundation, growth]"))
    time.sleep(0.05)
    assert _listings(capsys, desired) == 1
    args = command("status", desired, store, "--client", ACME)
    reads["bytes"].clear()
    assert _run(capsys, desired, *args).code == 0  # the edit unseen: every file's stamp
    assert sorted(set(reads["bytes"])) == [ACME_FILE, "clients/bright-smiles.yaml"]
    assert _listings(capsys, desired) == 2
    for _ in range(2):
        reads["bytes"].clear()
        reads["stamps"].clear()
        assert _run(capsys, desired, *args).code == 0
        assert None not in reads["stamps"]
        assert reads["bytes"] == [ACME_FILE]
    status = _status_client(capsys, desired, store, ACME)
    assert [c["name"] for c in status.json()["clients"]] == ["acme-dental"]


def test_a_skipped_write_records_no_listing(
    capsys: pytest.CaptureFixture[str],
    desired: Path,
    store: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A write skipped because another process held the file (busy) leaves rows out: no
    listing may then say that every file has one."""

    def busy(self: CacheFile) -> bool:
        self._pending, self._stamps = [], []
        return False

    with monkeypatch.context() as patched:
        patched.setattr(CacheFile, "flush", busy)
        assert _run(capsys, desired, *command("validate", desired, store)).code == 0
        _status_client(capsys, desired, store, ACME)
    assert _listings(capsys, desired) == 0
    _warm, log = _plan_client(capsys, desired, store, ACME)
    assert BY_LISTING not in log
