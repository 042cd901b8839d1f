"""Hostile and malformed desired state: a clear file:line:col error, exit 1, nothing written."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.cli_helpers import copy_example, invoke, invoke_in
from tests.corpus.cases import CASES, SETTINGS_CASES, Case
from tests.helpers import legacy_rows, registry_rows, run_sql

EXPECTED_FILE = Path(__file__).with_name("expected.txt")
MEMORY_LIMIT = 1024 * 1024 * 1024  # address space of the whole-corpus process


def _expected() -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] = []
    for line in EXPECTED_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("=== "):
            current = sections.setdefault(line[4:], [])
        elif not line.startswith("#"):
            current.append(line)
    return sections


EXPECTED = _expected()


def _tree(tmp_path: Path, *cases: Case) -> Path:
    desired = copy_example(tmp_path)
    for case in cases:
        (desired / case.path).write_bytes(case.content)
    return desired


def test_every_case_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(c.name for c in CASES + SETTINGS_CASES)


@pytest.mark.parametrize("case", CASES + SETTINGS_CASES, ids=lambda c: c.name)
def test_case_is_a_clear_located_error(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke_in(capsys, _tree(tmp_path, case), "validate", ".")
    assert (result.code, result.err) == (1, "")
    assert result.out.splitlines() == EXPECTED[case.name]
    for line in EXPECTED[case.name][:-1]:  # every problem line: file:line:col: $path: reason
        location = line.split(": ", 1)[0]
        file, row, col = location.rsplit(":", 2)
        assert (file, row.isdigit(), col.isdigit()) == (case.path, True, True), line


def _outside_targets(tmp_path: Path) -> Path:
    outside = tmp_path / "outside.yaml"
    outside.write_text("client_id: 22222222-2222-4222-8222-222222222222\nname: outside\n")
    return outside


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda tree, out: os.symlink(out, tree / "clients/evil.yaml"),
            "it is a symlink to a file outside the desired-state directory "
            "(copy the file into the tree instead)",
        ),
        (
            lambda tree, out: os.symlink("../../outside.yaml", tree / "clients/evil.yaml"),
            "it is a symlink to a file outside the desired-state directory "
            "(copy the file into the tree instead)",
        ),
        (
            lambda tree, out: os.symlink("/etc/passwd", tree / "clients/evil.yaml"),
            "it is a symlink to a file outside the desired-state directory "
            "(copy the file into the tree instead)",
        ),
        (
            lambda tree, out: os.symlink(tree / "nowhere.yaml", tree / "clients/evil.yaml"),
            "No such file or directory",
        ),
        (lambda tree, out: os.symlink("evil.yaml", tree / "clients/evil.yaml"), "symlink loop"),
        (
            lambda tree, out: os.mkfifo(tree / "clients/evil.yaml"),
            "not a regular file (a FIFO, device or socket)",
        ),
    ],
    ids=["absolute-outside", "relative-outside", "etc-passwd", "dangling", "loop", "fifo"],
)
def test_links_out_of_the_tree_and_special_files_are_never_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, reason: str
) -> None:
    tree = copy_example(tmp_path)
    make(tree, _outside_targets(tmp_path))
    result = invoke_in(capsys, tree, "validate", ".")
    assert (result.code, result.err) == (1, "")
    assert (
        result.out
        == f"clients/evil.yaml:1:1: $: cannot read the file: {reason}\n1 problem in 1 file\n"
    )


def test_settings_file_linked_out_of_the_tree_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = copy_example(tmp_path)
    (tree / "reconciler.yaml").unlink()
    os.symlink(_outside_targets(tmp_path), tree / "reconciler.yaml")
    result = invoke_in(capsys, tree, "validate", ".")
    assert result.code == 1
    assert result.out.splitlines()[0] == (
        "reconciler.yaml:1:1: $: cannot read the file: it is a symlink to a file outside the "
        "desired-state directory (copy the file into the tree instead)"
    )


def test_a_folder_linked_out_of_the_tree_is_not_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = copy_example(tmp_path)
    names = sorted(p.name for p in (tree / "clients").iterdir())
    (tree / "clients").rename(tmp_path / "elsewhere")
    os.symlink(tmp_path / "elsewhere", tree / "clients")
    result = invoke_in(capsys, tree, "validate", ".")
    assert (result.code, result.err) == (1, "")
    reason = (
        "cannot read the file: it is a symlink to a file outside the desired-state directory "
        "(copy the file into the tree instead)"
    )
    assert result.out.splitlines() == [
        *(f"clients/{name}:1:1: $: {reason}" for name in names),
        f"{len(names)} problems in {len(names)} files",
    ]


def test_links_inside_the_tree_are_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = copy_example(tmp_path)
    (tree / "clients/acme-dental.yaml").rename(tree / "acme.yaml")
    os.symlink("../acme.yaml", tree / "clients/acme-dental.yaml")
    assert invoke_in(capsys, tree, "validate", ".").code == 0


def _everything(url: str) -> tuple[object, ...]:
    """Every table the reconciler writes, read with plain SQL."""
    tables = ("reconciler_modules", "reconciler_runs", "reconciler_run_clients")
    counts = tuple(run_sql(url, f"SELECT count(*) FROM {t}")[0][0] for t in tables)
    return legacy_rows(url), registry_rows(url), counts


def test_plan_and_apply_refuse_the_whole_corpus_and_write_nothing(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tree = _tree(tmp_path, *CASES)
    before = _everything(store_url)
    for args in (["plan"], ["plan", "--out", str(tmp_path / "p.json")], ["apply", "--yes"]):
        result = invoke(capsys, *args, "--store", store_url, "--dir", str(tree))
        assert (result.code, result.out) == (1, "")
        assert "Traceback" not in result.err
        assert "problems in desired state" in result.err.splitlines()[-2]
    assert not (tmp_path / "p.json").exists()
    assert _everything(store_url) == before


def _limit_memory() -> None:  # runs in the child before exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.slow
def test_whole_corpus_in_one_tree_in_bounded_memory(tmp_path: Path) -> None:
    """All cases at once, in a process limited to 1 GiB of address space (the 60 s timeout
    only stops a hang: a timeout here is a failure, not a measurement)."""
    tree = _tree(tmp_path, *CASES)
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        check=False,
    )
    assert (result.returncode, result.stderr) == (1, "")
    lines = set(result.stdout.splitlines())
    for case in CASES:
        assert set(EXPECTED[case.name][:-1]) <= lines, case.name
