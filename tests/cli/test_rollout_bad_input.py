"""Bad rollout input: clear errors with file:line:col, and nothing written (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import invoke
from tests.faults.faults_helpers import runs, snapshot
from tests.helpers import run_sql
from tests.rollout_helpers import demo_tree


def _at(desired: Path, needle: str, occurrence: int = 0, offset: int = 0) -> str:
    """`reconciler.yaml:LINE:COL` of the `occurrence`-th `needle` (1-based line and column),
    `offset` characters into it."""
    lines = (desired / "reconciler.yaml").read_text().splitlines()
    found = [(n, line.index(needle)) for n, line in enumerate(lines, 1) if needle in line]
    line, column = found[occurrence]
    return f"reconciler.yaml:{line}:{column + offset + 1}"


def _nothing_written(store: str, before: object) -> None:
    assert snapshot(store) == before
    assert runs(store) == []
    assert run_sql(store, "SELECT count(*) FROM reconciler_rollouts") == [(0,)]


def _waves(*blocks: str) -> str:
    return "\nrollout:\n  waves:\n" + "".join(blocks)


def test_percent_out_of_range_and_unknown_profile(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = demo_tree(
        capsys,
        store_url,
        tmp_path,
        _waves("    - name: canary\n      select: {profiles: [internal], percent: 150}\n"),
    )
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    before = snapshot(store_url)
    args = ["--store", store_url, "--dir", str(desired)]
    result = invoke(capsys, "rollout", "--yes", *args)
    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines()[0] == (
        f"{_at(desired, '150')}: $.rollout.waves[0].select.percent: "
        "150 is greater than the maximum of 100"
    )
    (desired / "reconciler.yaml").write_text(
        (desired / "reconciler.yaml").read_text().replace("150", "5")
    )
    result = invoke(capsys, "validate", "--dir", str(desired))
    assert result.code == 1
    assert result.out.splitlines()[0] == (
        f"{_at(desired, 'internal')}: $.rollout.waves[0].select.profiles[0]: "
        "unknown profile 'internal' (no profiles/internal.yaml)"
    )
    _nothing_written(store_url, before)


def test_wave_selecting_nothing_overlap_and_missing_command(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rollout = _waves(
        "    - name: everyone\n      select: {percent: 100}\n",
        "    - name: growth\n      select: {profiles: [growth]}\n",
        "    - name: ghosts\n      select: {clients: [ghost-*]}\n"
        "      gate:\n        checks:\n          - command: [./missing.sh, '{client_id}']\n",
    )
    desired = demo_tree(capsys, store_url, tmp_path, rollout)
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    before = snapshot(store_url)
    result = invoke(capsys, "rollout", "--yes", "--store", store_url, "--dir", str(desired))
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"{_at(desired, '{profiles: [growth]}')}: $.rollout.waves[1].select: wave 'growth' "
        "overlaps earlier waves (everyone): every client it selects belongs to an earlier "
        "wave, so it can never select any\n"
        f"{_at(desired, '{clients: [ghost-*]}')}: $.rollout.waves[2].select: "
        "wave 'ghosts' selects no client\n"
        f"{_at(desired, '[./missing.sh')}: $.rollout.waves[2].gate: check command "
        f"'./missing.sh' not found or not executable ({desired.resolve()}/missing.sh)\n"
        "error: 3 problem(s) in the rollout waves\n"
        "hint: fix reconciler.yaml `rollout:`; nothing was written\n"
    )
    _nothing_written(store_url, before)
    validated = invoke(capsys, "validate", "--dir", str(desired))  # the pre-commit hook too
    assert validated.code == 1
    assert validated.out == "".join(result.err.splitlines(keepends=True)[:3]) + (
        "3 problems in 1 file\n"
    )


def test_duplicate_names_bad_checks_and_no_rollout(
    capsys: pytest.CaptureFixture[str],
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = demo_tree(capsys, store_url, tmp_path, "")
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    before = snapshot(store_url)
    args = ["--store", store_url, "--dir", str(desired)]
    result = invoke(capsys, "rollout", *args)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: reconciler.yaml has no `rollout:` waves\n")
    with (desired / "reconciler.yaml").open("a") as f:
        f.write(
            _waves(
                "    - name: a\n      select: {percent: 50}\n",
                "    - name: a\n      select: {percent: 100}\n      gate:\n        checks:\n"
                "          - {command: ['true'], http: {url: 'http://127.0.0.1:9/'}}\n"
                "          - http: {url: 'http://127.0.0.1:9/', json_path: '$..ok'}\n",
            )
        )
    result = invoke(capsys, "rollout", *args)
    both = "{command: ['true']"
    assert result.err.splitlines()[:3] == [
        f"{_at(desired, 'name: a', 1, offset=6)}: $.rollout.waves[1].name: wave name 'a' is also used "
        "by wave 1; names must be unique",
        f"{_at(desired, both)}: $.rollout.waves[1].gate.checks[0]: a check needs "
        "exactly one of `http` or `command`",
        f"{_at(desired, chr(39) + '$..ok')}: $.rollout.waves[1].gate.checks[1].http.json_path: "
        "json_path '$..ok' is not a simple path like $.ok or $.checks[0].status",
    ]
    _nothing_written(store_url, before)
    missing = invoke(capsys, "rollout", "status", "7", "--store", store_url)
    assert (missing.code, missing.err) == (
        1,
        "error: rollout 7 not found\nhint: list rollouts with `reconciler rollout status`\n",
    )
