"""`validate` results as text, json or markdown (SPEC §7); problems are the result: stdout."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from reconciler.errors import Problem
from reconciler.render import write_json
from reconciler.render.color import enabled, paint

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationReport:
    """What validate found: every problem, and how many files of each kind it read."""

    problems: Sequence[Problem] = ()
    clients: int = 0
    modules: int = 0
    profiles: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """`12 problems in 5 files` or `6 clients, 12 modules, 3 profiles`."""
        if self.problems:
            files = len({p.location.file for p in self.problems})
            noun = "problem" if len(self.problems) == 1 else "problems"
            return f"{len(self.problems)} {noun} in {files} file{'' if files == 1 else 's'}"
        return (
            f"{_count(self.clients, 'client')}, {_count(self.modules, 'module')}, "
            f"{_count(self.profiles, 'profile')}"
        )

    def to_json(self) -> dict[str, object]:
        return {
            "format_version": FORMAT_VERSION,
            "valid": self.valid,
            "errors": [p.to_json() for p in self.problems],
            "clients": self.clients,
            "modules": self.modules,
            "profiles": self.profiles,
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def write(report: ValidationReport, fmt: str, out: IO[str]) -> None:
    """Lay the report out in `fmt` (text, json or markdown) on `out`."""
    if fmt == "json":
        write_json(report.to_json(), out)
    elif fmt == "markdown":
        out.write(as_markdown(report))
    else:
        out.write(as_text(report, color=enabled(out)))


def as_text(report: ValidationReport, *, color: bool = False) -> str:
    """One `file:line:col: $.path: reason` line per problem, then the count."""
    if report.valid:
        return f"{paint('ok', 'green', color)}: {report.summary()}\n"
    lines = [
        f"{paint(str(p.location), 'bold', color)}: {p.path}: {p.reason}" for p in report.problems
    ]
    lines.append(paint(report.summary(), "red", color))
    return "\n".join(lines) + "\n"


def as_markdown(report: ValidationReport) -> str:
    """A PR comment: a heading with the verdict, then a table of problems."""
    if report.valid:
        return f"### ✅ Desired state is valid\n\n{report.summary()}\n"
    rows = [f"| `{p.location}` | `{p.path}` | {_cell(p.reason)} |" for p in report.problems]
    head = ["### ❌ Desired state is invalid", "", f"{report.summary()}", ""]
    return "\n".join([*head, "| Where | Path | Problem |", "| --- | --- | --- |", *rows]) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
