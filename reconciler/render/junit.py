"""JUnit XML (issue 16) for CI test tabs: `validate` is one test case per file read, failed by
its problems; a plan is one test case per client, failed by its `deny` policy violations
(`warn` ones are the case's system-out)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import IO

from reconciler.errors import Problem
from reconciler.plan.model import Plan
from reconciler.plan.violation import Violation
from reconciler.render.rules import rule_of
from reconciler.results import ValidationReport

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(text: str) -> str:
    """Text XML 1.0 can hold: a control character of a hostile file becomes U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _suites(name: str, cases: list[ET.Element]) -> ET.Element:
    failures = sum(case.find("failure") is not None for case in cases)
    counts = {"tests": str(len(cases)), "failures": str(failures), "errors": "0"}
    root = ET.Element("testsuites", {"name": name, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": name, **counts, "skipped": "0"})
    suite.extend(cases)
    return root


def _write(root: ET.Element, out: IO[str]) -> None:
    ET.indent(root)
    out.write('<?xml version="1.0" encoding="utf-8"?>\n')
    out.write(ET.tostring(root, encoding="unicode") + "\n")


def validation_xml(report: ValidationReport) -> ET.Element:
    by_file: dict[str, list[Problem]] = defaultdict(list)
    for problem in report.problems:
        by_file[problem.location.file].append(problem)
    cases = []
    for file in sorted(set(report.files) | set(by_file)):
        case = ET.Element("testcase", {"classname": "validate", "name": file, "file": file})
        problems = by_file.get(file)
        if problems:
            noun = "problem" if len(problems) == 1 else "problems"
            failure = ET.SubElement(
                case,
                "failure",
                {
                    "message": _clean(f"{len(problems)} {noun}: {problems[0]}"),
                    "type": rule_of(problems[0]).id,
                },
            )
            failure.text = _clean("\n".join(str(p) for p in problems))
        cases.append(case)
    return _suites("reconciler validate", cases)


def plan_xml(plan: Plan) -> ET.Element:
    by_client: dict[str, list[Violation]] = defaultdict(list)
    for v in plan.violations:
        by_client[v.client_id].append(v)
    names = {c.client_id: (c.name or c.client_id, c.file) for c in plan.clients}
    names.update(
        (v.client_id, (v.client_name or v.client_id, ""))
        for v in plan.violations
        if v.client_id not in names
    )
    cases = []
    for client_id in sorted(names):
        name, file = names[client_id]
        attrs = {"classname": "plan.policy", "name": f"{name} ({client_id})"}
        case = ET.Element("testcase", {**attrs, **({"file": file} if file else {})})
        found = by_client.get(client_id, [])
        denied = [v for v in found if v.effect == "deny"]
        if denied:
            failure = ET.SubElement(
                case,
                "failure",
                {"message": _clean(f"{denied[0].policy}: {denied[0].message}"), "type": "deny"},
            )
            failure.text = _clean("\n".join(_line(v) for v in denied))
        warned = [v for v in found if v.effect == "warn"]
        if warned:
            ET.SubElement(case, "system-out").text = _clean("\n".join(_line(v) for v in warned))
        cases.append(case)
    return _suites("reconciler plan policy", cases)


def _line(v: Violation) -> str:
    where = f" [{v.location}]" if v.location.file else ""
    change = f" ({v.change})" if v.change else ""
    return f"{v.effect} {v.policy}: {v.message}{change}{where}"


def write_validation(report: ValidationReport, out: IO[str]) -> None:
    _write(validation_xml(report), out)


def write_plan(plan: Plan, out: IO[str]) -> None:
    _write(plan_xml(plan), out)
