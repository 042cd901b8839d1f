"""The one error type that reaches users, its locations and problems, exit codes (SPEC §7)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2


@dataclass(frozen=True, slots=True, order=True)
class Location:
    """A place in a desired-state file: `clients/acme.yaml:14:7` (1-based line and column)."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One thing wrong with the input: where, at which JSON path, and why."""

    location: Location
    path: str = "$"
    reason: str = ""

    def __str__(self) -> str:
        return f"{self.location}: {self.path}: {self.reason}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
            "path": self.path,
            "reason": self.reason,
        }


class ReconcilerError(Exception):
    """An error the user can act on: a message, a hint saying what to do, and any problems."""

    def __init__(self, message: str, *, hint: str = "", problems: Iterable[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.problems: tuple[Problem, ...] = tuple(sorted(problems))

    def __str__(self) -> str:
        return self.message


class ValidationFailed(ReconcilerError):
    """The desired state has problems; `problems` lists all of them, sorted."""


class StalePlan(ReconcilerError):
    """Live state changed since the plan was made."""


class UnsafePlan(ReconcilerError):
    """A safety threshold or a protected module stops the run (override with --force)."""
