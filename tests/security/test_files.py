"""Issue 18 finding 7: files the reconciler writes (saved plans, imported client files) are
written atomically with the usual mode, never through a symlink, and never reported as written
when nothing was."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import api
from reconciler.files import write_atomic
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients

ACME = EXAMPLE_IDS["acme-dental"]


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def demo(store_url: str, tmp_path: Path) -> tuple[str, Path]:
    desired = copy_example(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    api.init(store_url, demo=True)
    return store_url, desired


def test_plan_out_replaces_a_symlink_and_never_writes_its_target(
    demo: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], umask_022: None
) -> None:
    store, desired = demo
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    link = tmp_path / "plan.json"
    link.symlink_to(victim)
    result = invoke(capsys, "plan", "--store", store, "--dir", str(desired), "--out", str(link))
    assert result.code == 0, result.err
    assert victim.read_text() == "precious\n"
    assert not link.is_symlink()
    assert link.read_text().startswith("{")
    assert _mode(link) == 0o644
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_plan_out_mode_is_the_same_new_or_replaced(
    demo: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], umask_022: None
) -> None:
    store, desired = demo
    out = tmp_path / "plan.json"
    for _ in range(2):
        result = invoke(capsys, "plan", "--store", store, "--dir", str(desired), "--out", str(out))
        assert result.code == 0, result.err
        assert _mode(out) == 0o644


def test_import_over_a_dangling_symlink_is_not_reported_written(
    demo: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], umask_022: None
) -> None:
    store, desired = demo
    out = tmp_path / "imported"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere.yaml"  # does not exist: the link dangles
    (out / "acme-dental.yaml").symlink_to(elsewhere)
    args = ("import", "--store", store, "--dir", str(desired), "--out", str(out), "--client", ACME)
    refused = invoke(capsys, *args)
    assert refused.code == 1
    assert "exists, not overwritten (pass --force)" in refused.out
    assert "wrote" not in refused.out
    assert not elsewhere.exists()
    forced = invoke(capsys, *args, "--force")
    assert forced.code == 0, forced.err
    assert "overwrote" in forced.out
    written = out / "acme-dental.yaml"
    assert not written.is_symlink()
    assert f"client_id: {ACME}" in written.read_text()
    assert not elsewhere.exists()
    assert _mode(written) == 0o644


def test_import_files_get_the_same_mode_with_and_without_force(
    demo: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], umask_022: None
) -> None:
    store, desired = demo
    out = tmp_path / "imported"
    args = ("import", "--store", store, "--dir", str(desired), "--out", str(out), "--client", ACME)
    first = invoke(capsys, *args)
    assert first.code == 0, first.err
    path = out / "acme-dental.yaml"
    assert _mode(path) == 0o644
    forced = invoke(capsys, *args, "--force")
    assert forced.code == 0, forced.err
    assert _mode(path) == 0o644


def test_write_atomic_follows_the_umask_and_never_clobbers(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        path = tmp_path / "f.txt"
        assert write_atomic(path, b"one", overwrite=False)
        assert _mode(path) == 0o640
        assert not write_atomic(path, b"two", overwrite=False)
        assert path.read_bytes() == b"one"
        assert write_atomic(path, b"three", overwrite=True)
        assert path.read_bytes() == b"three"
        assert _mode(path) == 0o640
        assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    finally:
        os.umask(old)
