"""GitHub Actions workflow commands (issue 16): `::error file=…,line=…,col=…,title=…::message`
per problem and per `deny` policy violation, `::warning` per `warn`, then a plain text summary,
so a pull request shows each finding on its line. Escaping follows GitHub's toolkit
(actions/toolkit packages/core/src/command.ts): `%`, CR and LF in the message; also `:` and
`,` in property values."""

from __future__ import annotations

from typing import IO

from reconciler.errors import Location
from reconciler.plan.model import Plan
from reconciler.render.plan import text_lines
from reconciler.render.rules import rule_of
from reconciler.results import ValidationReport


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, *, location: Location | None = None, title: str = "") -> str:
    """One workflow command line: `::error file=a.yaml,line=3,col=5,title=T::message`."""
    props: list[tuple[str, str]] = []
    if location is not None and location.file:
        props.append(("file", location.file))
        if location.line > 0:
            props += [("line", str(location.line)), ("col", str(location.column or 1))]
    if title:
        props.append(("title", title))
    head = ",".join(f"{key}={escape_property(value)}" for key, value in props)
    return f"::{level}{' ' + head if head else ''}::{escape_data(message)}"


def write_validation(report: ValidationReport, out: IO[str]) -> None:
    for problem in report.problems:
        rule = rule_of(problem)
        message = f"{problem.path}: {problem.reason}"
        out.write(
            command("error", message, location=problem.location, title=f"{rule.title} ({rule.id})")
            + "\n"
        )
    verdict = "ok" if report.valid else "error"
    out.write(f"{verdict}: {report.summary()}\n")


def write_plan(plan: Plan, out: IO[str]) -> None:
    """An annotation per policy violation on its client's file, then the text plan."""
    files = {c.client_id: c.file for c in plan.clients}
    for v in plan.violations:
        level = "error" if v.effect == "deny" else "warning"
        where = Location(files[v.client_id]) if files.get(v.client_id) else v.location
        subject = v.client_name or v.client_id
        message = f"{subject}: {v.message}" + (f" ({v.change})" if v.change else "")
        title = f"policy {v.policy} ({v.effect})"
        out.write(command(level, message, location=where, title=title) + "\n")
    for _kind, painted, plain in text_lines(plan):
        out.write(painted + plain + "\n")
