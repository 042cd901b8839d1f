"""SARIF 2.1.0 (issue 16) for code scanning: `validate` problems with one `ruleId` per kind of
problem (render/rules.py), plan policy violations with the policy as `ruleId` on the client's
file. `partialFingerprints` hash what a finding is (rule, file, JSON path or change, reason),
not its line, so a finding keeps its identity across runs and edits above it."""

from __future__ import annotations

import hashlib
import os
from pathlib import PurePosixPath
from typing import IO, Any
from urllib.parse import quote

from reconciler import __version__
from reconciler.errors import Location
from reconciler.plan.model import Plan
from reconciler.render.jsonout import write_json
from reconciler.render.rules import BY_ID, RULES, rule_of
from reconciler.results import ValidationReport

SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
FINGERPRINT = "reconcilerFinding/v1"


def uri(path: str) -> str:
    """A relative path as a relative URI reference (resolved against the checkout by code
    scanning); an absolute one as a file:// URI."""
    if os.path.isabs(path):
        return PurePosixPath(path).as_uri()
    return quote(path.replace(os.sep, "/"), safe="/")


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def _location(where: Location) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": uri(where.file)}}
    if where.line > 0:
        physical["region"] = {"startLine": where.line, "startColumn": max(where.column, 1)}
    return {"physicalLocation": physical}


def _log(rules: list[dict[str, Any]], results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "module-reconciler",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def validation_log(report: ValidationReport) -> dict[str, Any]:
    """Every known rule (stable indexes), one error result per problem."""
    ids = [r.id for r in RULES] + ["problem"]
    rules = [
        {
            "id": rule_id,
            "name": rule_id,
            "shortDescription": {"text": BY_ID[rule_id].title},
            "defaultConfiguration": {"level": "error"},
        }
        for rule_id in ids
    ]
    index = {rule_id: i for i, rule_id in enumerate(ids)}
    results = []
    for problem in report.problems:
        rule = rule_of(problem)
        results.append(
            {
                "ruleId": rule.id,
                "ruleIndex": index[rule.id],
                "level": "error",
                "message": {"text": f"{problem.path}: {problem.reason}"},
                "locations": [_location(problem.location)],
                "partialFingerprints": {
                    FINGERPRINT: fingerprint(
                        rule.id, problem.location.file, problem.path, problem.reason
                    )
                },
            }
        )
    return _log(rules, results)


def plan_log(plan: Plan) -> dict[str, Any]:
    """One result per policy violation, on the client's file, the rule's place related."""
    files = {c.client_id: c.file for c in plan.clients}
    policies = sorted({(v.policy, v.effect) for v in plan.violations})
    ids = sorted({policy for policy, _ in policies})
    index = {policy: i for i, policy in enumerate(ids)}
    levels = {policy: "error" if effect == "deny" else "warning" for policy, effect in policies}
    rules = [
        {
            "id": policy,
            "name": policy,
            "shortDescription": {"text": f"policy {policy}"},
            "defaultConfiguration": {"level": levels[policy]},
        }
        for policy in ids
    ]
    results = []
    for v in plan.violations:
        file = files.get(v.client_id) or v.location.file
        result: dict[str, Any] = {
            "ruleId": v.policy,
            "ruleIndex": index[v.policy],
            "level": "error" if v.effect == "deny" else "warning",
            "message": {
                "text": f"{v.client_name or v.client_id}: {v.message}"
                + (f" ({v.change})" if v.change else "")
            },
            "partialFingerprints": {
                FINGERPRINT: fingerprint(v.policy, v.client_id, v.module or "", v.change)
            },
            "properties": {"client_id": v.client_id, "effect": v.effect},
        }
        if file:
            result["locations"] = [_location(Location(file, 1, 1))]
        if v.location.file:
            result["relatedLocations"] = [
                {"id": 0, **_location(v.location), "message": {"text": "the policy rule"}}
            ]
        results.append(result)
    return _log(rules, results)


def write_validation(report: ValidationReport, out: IO[str]) -> None:
    write_json(validation_log(report), out)


def write_plan(plan: Plan, out: IO[str]) -> None:
    write_json(plan_log(plan), out)
