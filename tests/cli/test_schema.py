"""`reconciler schema NAME` prints the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.cli import run

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.mark.parametrize("name", ["settings", "module", "profile", "client", "plan"])
def test_prints_the_schema(capsys: pytest.CaptureFixture[str], name: str) -> None:
    capsys.readouterr()
    assert run(["schema", name]) == 0
    out, err = capsys.readouterr()
    assert out == (SCHEMAS / f"{name}.schema.json").read_text(encoding="utf-8")
    assert json.loads(out)["title"].startswith("module-reconciler")
    assert err == ""


def test_unknown_name_is_a_usage_error_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run(["schema", "clients"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        "'clients' is not one of 'settings', 'module', 'profile', 'client', 'policy', 'plan'" in err
    )
