"""`validate`'s result: every problem and warning, and how many files of each kind were read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from reconciler.errors import Problem
from reconciler.model import JSON, OUTPUT_FORMAT_VERSION


@dataclass(frozen=True, slots=True, kw_only=True)
class ValidationReport:
    """What validate found: every problem, and how many files of each kind it read."""

    problems: Sequence[Problem] = ()
    clients: int = 0
    modules: int = 0
    profiles: int = 0
    warnings: Sequence[Problem] = ()  # never change validity or the exit code
    # Every file read, as shown (relative to the cwd): JUnit's one test case per file.
    files: Sequence[str] = ()

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

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "valid": self.valid,
            "errors": [p.to_json() for p in self.problems],
            "warnings": [p.to_json() for p in self.warnings],
            "clients": self.clients,
            "modules": self.modules,
            "profiles": self.profiles,
        }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
