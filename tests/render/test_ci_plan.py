"""Policy violations (plan.violations, issue 16) in every plan format: text and markdown show a
Policy section, github annotates the client's file, SARIF has the policy as ruleId, JUnit has
one test case per client."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft4Validator

from reconciler import render
from reconciler.errors import Location
from reconciler.plan.model import Change, ChangeKind, ClientPlan, Plan
from reconciler.plan.violation import Violation

FIXTURES = Path(__file__).parents[1] / "fixtures"
SARIF_SCHEMA = json.loads((FIXTURES / "sarif" / "sarif-schema-2.1.0.json").read_text())
PLAN_SCHEMA = json.loads(
    (Path(__file__).parents[2] / "schemas" / "plan.schema.json").read_text(encoding="utf-8")
)
ACME_FILE = "sub/desired-state/clients/acme.yaml"
BILLING_RULE = Location("sub/desired-state/policies/billing.yaml", 3, 5)
UPGRADE_RULE = Location("sub/desired-state/policies/upgrades.yaml", 2, 5)


def planned(*, violations: bool = True) -> Plan:
    """Two clients with changes: acme disables billing (denied), bright upgrades forms (warned)."""
    acme = ClientPlan.build(
        [
            Change(
                client_id="c1",
                module="billing",
                kind=ChangeKind.DISABLE,
                old=True,
                new=False,
                stores=frozenset({"legacy", "registry"}),
            )
        ],
        client_id="c1",
        name="acme",
        file=ACME_FILE,
        live_fingerprint="a" * 64,
    )
    bright = ClientPlan.build(
        [
            Change(
                client_id="c2",
                module="forms",
                kind=ChangeKind.VERSION,
                old="1.0.0",
                new="2.0.0",
                stores=frozenset({"registry"}),
            )
        ],
        client_id="c2",
        name="bright",
        file="sub/desired-state/clients/bright.yaml",
        live_fingerprint="b" * 64,
    )
    broken = (
        Violation(
            client_id="c1",
            client_name="acme",
            policy="no-billing-disable",
            effect="deny",
            message="billing stays on for enterprise clients",
            module="billing",
            change="- billing disable",
            location=BILLING_RULE,
        ),
        Violation(
            client_id="c2",
            client_name="bright",
            policy="major-upgrade",
            effect="warn",
            message="a major version upgrade: tell support",
            module="forms",
            change="~ forms version 1.0.0 -> 2.0.0",
            location=UPGRADE_RULE,
        ),
    )
    return Plan(
        clients=(acme, bright),
        unchanged=4,
        store="sqlite:///s.db",
        desired_root="sub/desired-state",
        violations=broken if violations else (),
    )


def written(plan: Plan, fmt: str) -> str:
    out = io.StringIO()
    render.write(plan, fmt, out)
    return out.getvalue()


POLICY_TEXT = [  # each violation under its client's changes, the policy count after the plan's
    "~ acme  c1  (sub/desired-state/clients/acme.yaml, strategy merge)",
    "    - billing  disable  [legacy, registry]",
    "    DENY no-billing-disable: billing stays on for enterprise clients  [- billing disable]  "
    "(sub/desired-state/policies/billing.yaml:3:5)",
    "",
    "~ bright  c2  (sub/desired-state/clients/bright.yaml, strategy merge)",
    '    ~ forms version  "1.0.0" -> "2.0.0"  [registry]',
    "    WARN major-upgrade: a major version upgrade: tell support  "
    "[~ forms version 1.0.0 -> 2.0.0]  (sub/desired-state/policies/upgrades.yaml:2:5)",
    "",
    "Plan: 2 clients to change, 4 unchanged: 0 modules to enable, 1 to disable, 1 to update, "
    "0 override paths",
    "Policies: 1 change denied, 1 warning (apply refuses the run unless --force --reason)",
]


def test_text_shows_each_violation_under_its_client_and_counts_them() -> None:
    assert written(planned(), "text").splitlines()[2:] == POLICY_TEXT
    assert "Polic" not in written(planned(violations=False), "text")


def test_markdown_counts_violations_above_the_clients_and_lists_them_per_client() -> None:
    text = written(planned(), "markdown")
    head = text[: text.index("<details")]
    assert (
        "**Policies: 1 change denied, 1 warning (apply refuses the run unless --force --reason)**"
        in head
    )
    acme = text[text.index("<details open><summary><b>acme</b>") : text.index("</details>")]
    assert (
        "| `no-billing-disable` | **deny** | `- billing disable` | billing stays on for enterprise "
        "clients | `sub/desired-state/policies/billing.yaml:3:5` |"
    ) in acme.splitlines()
    assert ":no_entry: 1 denied" in acme
    assert "Polic" not in written(planned(violations=False), "markdown")


def test_github_denies_are_errors_and_warns_warnings_on_the_client_file() -> None:
    lines = written(planned(), "github").splitlines()
    assert lines[:2] == [
        f"::error file={ACME_FILE},title=policy no-billing-disable (deny)::acme: billing stays "
        "on for enterprise clients (- billing disable)",
        "::warning file=sub/desired-state/clients/bright.yaml,title=policy major-upgrade (warn)::"
        "bright: a major version upgrade: tell support (~ forms version 1.0.0 -> 2.0.0)",
    ]
    assert lines[2:] == written(planned(), "text").splitlines()  # then the plan as text


def test_sarif_results_have_the_policy_as_rule_on_the_client_file() -> None:
    log: dict[str, Any] = json.loads(written(planned(), "sarif"))
    Draft4Validator(SARIF_SCHEMA).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "major-upgrade",
        "no-billing-disable",
    ]
    deny, warn = run["results"]
    assert (deny["ruleId"], deny["level"], warn["ruleId"], warn["level"]) == (
        "no-billing-disable",
        "error",
        "major-upgrade",
        "warning",
    )
    assert deny["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == ACME_FILE
    related = deny["relatedLocations"][0]["physicalLocation"]
    assert related == {
        "artifactLocation": {"uri": BILLING_RULE.file},
        "region": {"startLine": 3, "startColumn": 5},
    }
    assert json.loads(written(planned(), "sarif")) == log  # fingerprints stable
    empty: dict[str, Any] = json.loads(written(planned(violations=False), "sarif"))
    Draft4Validator(SARIF_SCHEMA).validate(empty)
    assert empty["runs"][0]["results"] == []


def test_junit_one_case_per_client_failed_by_its_denials() -> None:
    root = ET.fromstring(written(planned(), "junit"))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert sorted(cases) == ["acme (c1)", "bright (c2)"]
    failure = cases["acme (c1)"].find("failure")
    assert failure is not None
    assert failure.get("type") == "deny"
    assert failure.text == (
        "deny no-billing-disable: billing stays on for enterprise clients (- billing disable) "
        "[sub/desired-state/policies/billing.yaml:3:5]"
    )
    assert cases["bright (c2)"].find("failure") is None
    assert "major-upgrade" in (cases["bright (c2)"].findtext("system-out") or "")
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")


def test_plan_json_with_violations_matches_the_plan_schema() -> None:
    data = json.loads(written(planned(), "json"))
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(data)
    assert [v["policy"] for v in data["policy_violations"]] == [
        "no-billing-disable",
        "major-upgrade",
    ]
