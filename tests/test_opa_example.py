"""examples/opa/plan.rego, the Rego example over `plan --format json` (issue 16), evaluated on
real plans with rego-cpp (regopy), the OPA language's C++ interpreter."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from regopy import Interpreter

from reconciler import render
from reconciler.live.demo import seed_demo
from reconciler.live.engine import dispose_engine, make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import copy_example, invoke
from tests.render.test_ci_plan import planned

POLICY = Path(__file__).resolve().parents[1] / "examples" / "opa" / "plan.rego"


def evaluate(plan: dict[str, Any]) -> dict[str, list[str]]:
    """`deny` and `warn` of package main, as conftest reads them."""
    rego = Interpreter()
    rego.add_module("plan.rego", POLICY.read_text(encoding="utf-8"))
    rego.set_input(plan)
    found = {}
    for rule in ("deny", "warn"):
        output = json.loads(str(rego.query(f"data.main.{rule}")))
        found[rule] = sorted(output["expressions"][0])
    return found


def test_the_bundled_example_plan_is_denied_and_warned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = f"sqlite:///{tmp_path}/store.db"
    init(make_engine(store))
    seed_demo(make_engine(store))
    copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "plan", "--store", store, "--dir", "desired-state", "--format", "json")
    dispose_engine(store)
    assert result.code == 0, result.err
    assert evaluate(result.json()) == {
        "deny": [
            "harbor-physio (desired-state/clients/harbor-physio.yaml): disables critical module "
            "questionnaire-engine"
        ],
        "warn": [
            "northwind-clinic: a sensitive setting of email-integration changes (values not shown)",
            "plan changes 5 clients (more than 3): ask a second reviewer, or split it with "
            "--client or --shard",
            "summit-health: a sensitive setting of integrations changes (values not shown)",
        ],
    }


def test_the_reconcilers_own_denials_are_denied() -> None:
    out = io.StringIO()
    render.write(planned(), "json", out)
    assert evaluate(json.loads(out.getvalue()))["deny"] == [
        "acme (sub/desired-state/clients/acme.yaml): disables critical module billing",
        "acme: policy no-billing-disable: billing stays on for enterprise clients",
    ]
