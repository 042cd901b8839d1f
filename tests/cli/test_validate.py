"""`reconciler validate`: results on stdout, exit 1 on any problem, no traceback (SPEC §3, §7)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from reconciler.cli import run

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired-state"
FIXTURES = REPO / "tests" / "fixtures" / "desired"
MANY = FIXTURES / "many-errors"


def call(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_example_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    assert call(capsys, "validate", str(EXAMPLE)) == (
        0,
        "ok: 6 clients, 12 modules, 3 profiles\n",
        "",
    )


def test_default_directory_is_desired_state_in_the_cwd(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RECONCILER_DIR", raising=False)
    monkeypatch.chdir(REPO)
    assert call(capsys, "validate")[0:2] == (0, "ok: 6 clients, 12 modules, 3 profiles\n")


def test_dir_option_and_environment_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert call(capsys, "validate", "--dir", str(FIXTURES / "base"))[1] == (
        "ok: 2 clients, 4 modules, 2 profiles\n"
    )
    monkeypatch.setenv("RECONCILER_DIR", str(FIXTURES / "base"))
    assert call(capsys, "validate")[1] == "ok: 2 clients, 4 modules, 2 profiles\n"


def test_every_problem_with_file_line_column_then_the_count(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MANY)  # paths are shown relative to the current directory
    code, out, err = call(capsys, "validate", ".")
    expected = (FIXTURES / "many-errors.expected.txt").read_text(encoding="utf-8")
    assert (code, out, err) == (1, expected, "")
    assert out.splitlines()[:3] == [
        "clients/five.yaml:4:14: $.modules.alpha.version: alpha ^2.0.0 is not satisfied by the "
        "catalog version 1.2.3",
        "clients/five.yaml:6:14: $.modules.alpha.settings.level: expected an integer, got a "
        "string ('six')",
        "clients/four.yaml:3:10: $.overrides.theme: tag "
        "tag:yaml.org,2002:python/object/apply:os.system: tags are not allowed, only plain data",
    ]
    assert out.splitlines()[-1] == "16 problems in 9 files"


def test_json_format(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(MANY)
    code, out, err = call(capsys, "validate", ".", "--format", "json")
    report = json.loads(out)
    assert (code, err) == (1, "")
    assert report["format_version"] == 1
    assert report["valid"] is False
    assert (report["clients"], report["modules"], report["profiles"]) == (5, 5, 2)
    assert len(report["errors"]) == 16
    assert report["errors"][0] == {
        "file": "clients/five.yaml",
        "line": 4,
        "column": 14,
        "path": "$.modules.alpha.version",
        "reason": "alpha ^2.0.0 is not satisfied by the catalog version 1.2.3",
    }
    code, out, _ = call(capsys, "validate", str(EXAMPLE), "--format", "json")
    assert (code, json.loads(out)) == (
        0,
        {"format_version": 1, "valid": True, "errors": [], "warnings": [], "clients": 6,
         "modules": 12, "profiles": 3},
    )  # fmt: skip


def test_markdown_format(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(MANY)
    code, out, _ = call(capsys, "validate", ".", "--format", "markdown")
    lines = out.splitlines()
    assert code == 1
    assert lines[:6] == [
        "### ❌ Desired state is invalid",
        "",
        "16 problems in 9 files",
        "",
        "| Where | Path | Problem |",
        "| --- | --- | --- |",
    ]
    assert lines[6] == (
        "| `clients/five.yaml:4:14` | `$.modules.alpha.version` | "
        "alpha ^2.0.0 is not satisfied by the catalog version 1.2.3 |"
    )
    assert call(capsys, "validate", str(EXAMPLE), "--format", "markdown")[1] == (
        "### ✅ Desired state is valid\n\n6 clients, 12 modules, 3 profiles\n"
    )


def test_missing_directory_is_an_error_on_stderr_without_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = call(capsys, "validate", str(tmp_path / "nope"))
    assert (code, out) == (1, "")
    assert err == (
        f"error: desired-state directory not found: {tmp_path / 'nope'}\n"
        "hint: pass the directory as an argument or with --dir (env RECONCILER_DIR)\n"
    )


def test_hostile_file_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "tree"
    shutil.copytree(FIXTURES / "base", root)
    (root / "clients" / "bomb.yaml").write_text(
        'client_id: b\na: &a ["lol", "lol"]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n'
    )
    monkeypatch.chdir(root)
    code, out, err = call(capsys, "validate", ".")
    assert (code, out) == (
        1,
        "clients/bomb.yaml:2:4: $.a: anchor &a: anchors and aliases are not allowed "
        "(7 more in this file)\n1 problem in 1 file\n",
    )
    assert all(line.startswith("warning: ") for line in err.splitlines())  # clear-text secret
