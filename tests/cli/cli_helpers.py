"""Run the CLI in-process and capture stdout, stderr and the exit code separately."""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import run

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "desired-state"
EXAMPLE_IDS = {
    "acme-dental": "0ee6a19a-b01d-4773-8a91-d6023ddab802",
    "bright-smiles": "74089fb5-e782-426b-ad85-c7990bd21638",
    "northwind-clinic": "e3189a23-3157-4c72-aacf-e644df46c05e",
    "harbor-physio": "d18ea511-018e-4cde-86d2-c73949d0f77a",
    "summit-health": "36a85917-ad8f-4e4a-b855-3ab94d394f46",
    "lakeside-vets": "c8d7d1d9-7646-4c30-989a-c4fea8f82535",
}


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


def invoke(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def invoke_in(capsys: pytest.CaptureFixture[str], directory: Path, *args: str) -> Result:
    """`invoke` run from `directory`: problem paths are shown relative to the current
    directory (issue 16), so a tree checked from inside itself prints `clients/x.yaml:3:5`."""
    with contextlib.chdir(directory):
        return invoke(capsys, *args)


def copy_example(dest: Path) -> Path:
    """A private copy of the bundled desired-state/ example."""
    target = dest / "desired-state"
    shutil.copytree(EXAMPLE, target)
    return target


def saved_plan(capsys: pytest.CaptureFixture[str], store: str, desired: str, dest: Path) -> Path:
    """`plan --out dest/plan.json` (it must succeed); the saved plan's path."""
    plan_file = dest / "plan.json"
    saved = invoke(capsys, "plan", "--store", store, "--dir", desired, "--out", str(plan_file))
    assert saved.code == 0, saved.err
    return plan_file
