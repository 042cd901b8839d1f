"""`validate --format github|sarif|junit` (issue 16): annotations whose paths open from the
working directory, SARIF that the official 2.1.0 schema accepts with stable fingerprints, JUnit
that parses back."""

from __future__ import annotations

import io
import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from jsonschema import Draft4Validator

from reconciler import render
from reconciler.errors import Location, Problem, ReconcilerError
from reconciler.render.github import command
from reconciler.render.sarif import uri
from reconciler.results import StatusReport, ValidationReport
from tests.cli.cli_helpers import Result, invoke

FIXTURES = Path(__file__).parents[1] / "fixtures"
MANY = FIXTURES / "desired" / "many-errors"
SARIF_SCHEMA = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())
ANNOTATION = re.compile(
    r"^::(error|warning) file=([^,]+),line=(\d+),col=(\d+),title=([^:]+)::(.+)$"
)


@pytest.fixture
def repo_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root holding an invalid tree at sub/desired-state, as the cwd."""
    shutil.copytree(MANY, tmp_path / "sub" / "desired-state")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    return tmp_path


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    return invoke(capsys, "validate", "sub/desired-state", *args)


def test_in_github_actions_problems_are_annotations_on_files_that_exist(
    repo_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    result = validate(capsys)  # no --format: github, as yamllint does
    assert (result.code, result.err) == (1, "")
    *annotations, summary = result.out.splitlines()
    assert summary == "error: 16 problems in 9 files"
    assert len(annotations) == 16
    for line in annotations:
        match = ANNOTATION.match(line)
        assert match is not None, line
        file = match.group(2)
        assert file.startswith("sub/desired-state/"), line
        assert (repo_root / file).is_file(), line  # it opens from the working directory
    assert annotations[0] == (
        "::error file=sub/desired-state/clients/five.yaml,line=4,col=14,"
        "title=Version not in the catalog (version-unsatisfied)::$.modules.alpha.version: "
        "alpha ^2.0.0 is not satisfied by the catalog version 1.2.3"
    )


def test_an_explicit_format_wins_and_outside_actions_text_is_the_default(
    repo_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = "sub/desired-state/clients/five.yaml:4:14: $.modules.alpha.version: alpha ^2.0.0"
    assert validate(capsys).out.startswith(first)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert validate(capsys, "--format", "text").out.startswith(first)
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert validate(capsys).out.startswith(first)


def test_a_valid_tree_prints_only_the_summary(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    example = Path(__file__).parents[2] / "desired-state"
    assert invoke(capsys, "validate", str(example)).out == "ok: 6 clients, 12 modules, 3 profiles\n"


def test_workflow_command_escaping() -> None:
    where = Location("a,b:c%.yaml", 3, 5)
    line = command("error", "50% done\r\nnext: a, b", location=where, title="t: x, y")
    assert line == (
        "::error file=a%2Cb%3Ac%25.yaml,line=3,col=5,title=t%3A x%2C y::50%25 done%0D%0Anext: a, b"
    )
    assert command("warning", "no file") == "::warning::no file"
    assert command("error", "m", location=Location("f.yaml")) == "::error file=f.yaml::m"


def sarif(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    result = validate(capsys, "--format", "sarif")
    assert (result.code, result.err) == (1, "")
    data: dict[str, object] = result.json()
    return data


def test_sarif_validates_against_the_2_1_0_schema_with_stable_fingerprints(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = sarif(capsys)
    Draft4Validator(SARIF_SCHEMA).validate(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]  # type: ignore[index]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == 16
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (repo_root / uri).is_file()
    assert {r["ruleId"] for r in results} >= {"unknown-profile", "yaml-tag", "conflict"}
    assert "problem" not in {r["ruleId"] for r in results}  # every problem has its own kind
    fingerprints = [r["partialFingerprints"] for r in results]
    assert len({json.dumps(f) for f in fingerprints}) == 16
    again = sarif(capsys)
    assert again == log  # byte for byte the same run, fingerprints included
    Draft4Validator.check_schema(SARIF_SCHEMA)


def test_sarif_fingerprints_survive_lines_moving(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {r["partialFingerprints"]["reconcilerFinding/v1"] for r in _results(sarif(capsys))}
    five = repo_root / "sub/desired-state/clients/five.yaml"
    five.write_text("# a comment moves every line down\n" + five.read_text())
    moved = _results(sarif(capsys))
    assert {r["partialFingerprints"]["reconcilerFinding/v1"] for r in moved} == before
    assert moved[0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 5


def _results(log: dict[str, object]) -> list[dict[str, object]]:
    return log["runs"][0]["results"]  # type: ignore[index,no-any-return]


def test_junit_is_one_case_per_file_failed_by_its_problems(
    repo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = validate(capsys, "--format", "junit")
    assert (result.code, result.err) == (1, "")
    root = ET.fromstring(result.out)
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    names = [c.get("name") for c in cases]
    assert len(names) == 13  # 5 clients, 5 modules, 2 profiles, reconciler.yaml
    assert all((repo_root / str(n)).is_file() for n in names)
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert (suite.get("tests"), suite.get("failures")) == ("13", str(len(failed)))
    assert len(failed) == 9
    five = failed["sub/desired-state/clients/five.yaml"]
    assert five is not None
    assert five.get("type") == "version-unsatisfied"
    assert (five.text or "").splitlines() == [
        "sub/desired-state/clients/five.yaml:4:14: $.modules.alpha.version: alpha ^2.0.0 is "
        "not satisfied by the catalog version 1.2.3",
        "sub/desired-state/clients/five.yaml:6:14: $.modules.alpha.settings.level: expected an "
        "integer, got a string ('six')",
    ]


def test_junit_holds_hostile_characters_as_valid_xml() -> None:
    report = ValidationReport(problems=[Problem(Location("c.yaml", 1, 1), "$", "nul \x00 <&>")])
    out = io.StringIO()
    render.write(report, "junit", out)
    failure = ET.fromstring(out.getvalue()).find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.text == "c.yaml:1:1: $: nul \ufffd <&>"


def test_a_format_a_result_does_not_have_is_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(ReconcilerError, match="StatusReport has no sarif output"):
        render.write(
            StatusReport(store="s", legacy_defaults=(), clients=()), "sarif", io.StringIO()
        )
    result = invoke(capsys, "status", "--format", "sarif")
    assert result.code == 1
    assert "'sarif' is not one of 'text', 'json', 'markdown'" in result.err


def test_sarif_uris_are_relative_references_or_file_uris() -> None:
    assert uri("sub/desired state/clients/a#1.yaml") == "sub/desired%20state/clients/a%231.yaml"
    assert uri("/abs/desired-state/clients/a.yaml") == "file:///abs/desired-state/clients/a.yaml"
    report = ValidationReport(problems=[Problem(Location("/abs/x y.yaml", 2, 3), "$", "bad")])
    log = json.loads(_written(report, "sarif"))
    Draft4Validator(SARIF_SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER).validate(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "file:///abs/x%20y.yaml"


def _written(result: object, fmt: str) -> str:
    out = io.StringIO()
    render.write(result, fmt, out)
    return out.getvalue()
