"""`validate` results as text, json or markdown (SPEC §7); problems are the result: stdout."""

from __future__ import annotations

from typing import IO

from reconciler.render.color import enabled, paint
from reconciler.render.escape import md, md_code, term
from reconciler.results import ValidationReport


def write_text(report: ValidationReport, out: IO[str]) -> None:
    out.write(as_text(report, color=enabled(out)))


def write_markdown(report: ValidationReport, out: IO[str]) -> None:
    out.write(as_markdown(report))


def write_warnings(report: ValidationReport, err: IO[str]) -> None:
    """One `warning: file:line:col: $: reason` line per warning (stderr)."""
    for w in report.warnings:
        err.write(f"warning: {term(w.location)}: {term(w.path)}: {term(w.reason)}\n")


def as_text(report: ValidationReport, *, color: bool = False) -> str:
    """One `file:line:col: $.path: reason` line per problem, then the count."""
    if report.valid:
        return f"{paint('ok', 'green', color)}: {report.summary()}\n"
    lines = [
        f"{paint(term(p.location), 'bold', color)}: {term(p.path)}: {term(p.reason)}"
        for p in report.problems
    ]
    lines.append(paint(report.summary(), "red", color))
    return "\n".join(lines) + "\n"


def as_markdown(report: ValidationReport) -> str:
    """A PR comment: a heading with the verdict, then a table of problems."""
    if report.valid:
        return f"### ✅ Desired state is valid\n\n{report.summary()}\n"
    rows = [
        f"| {md_code(p.location)} | {md_code(p.path)} | {md(p.reason)} |" for p in report.problems
    ]
    head = ["### ❌ Desired state is invalid", "", f"{report.summary()}", ""]
    return "\n".join([*head, "| Where | Path | Problem |", "| --- | --- | --- |", *rows]) + "\n"
