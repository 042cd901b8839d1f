"""The one error type that reaches users, its locations and problems, exit codes (SPEC §7)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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
    warning: bool = False  # reported, never fails validation (e.g. a clear-text secret)

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


class UnknownClients(ReconcilerError):
    """`--client` ids (`client_ids`) that no client file of the desired state has."""

    def __init__(self, client_ids: Iterable[str], *, hint: str = "") -> None:
        self.client_ids = tuple(sorted(client_ids))
        super().__init__(
            f"client(s) not in the desired state: {', '.join(self.client_ids)}", hint=hint
        )


class ValidationFailed(ReconcilerError):
    """The desired state has problems; `problems` lists all of them, sorted, and `counts` how
    many files of each kind were read (clients, modules, profiles) for `validate`'s summary."""

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        problems: Iterable[Problem] = (),
        counts: Mapping[str, int] | None = None,
        warnings: Iterable[Problem] = (),
    ) -> None:
        super().__init__(message, hint=hint, problems=problems)
        self.counts: dict[str, int] = dict(counts or {})
        self.warnings: tuple[Problem, ...] = tuple(sorted(warnings))


class StalePlan(ReconcilerError):
    """A client's live or desired state changed since the plan was made: refused, plan again."""


class DamagedPlan(ReconcilerError):
    """A saved plan file is unreadable, altered, of another version or for another store."""


class RunNotFound(ReconcilerError):
    """No recorded run has this id (or the run did not change the clients asked for)."""


class RolloutNotFound(RunNotFound):
    """No recorded rollout has this id."""


class ConnectionLost(ReconcilerError):
    """The store connection died during a client's transaction: the run stops there.

    `results` holds every client finished before, then the rolled-back ones as failed; the
    clients after them were not attempted. A dead connection is not retried blindly: an
    operator may have terminated it, or the server may be failing over (SPEC §5).
    """

    def __init__(self, message: str, *, hint: str, results: Iterable[Any] = ()) -> None:
        super().__init__(message, hint=hint)
        self.results: tuple[Any, ...] = tuple(results)


class UnsafePlan(ReconcilerError):
    """A safety threshold or a protected module stops the run (override with --force)."""


class BadInput(ReconcilerError):
    """An argument the store cannot take (a client id that is no UUID on PostgreSQL, a limit
    beyond the column's range): refused before any query, a 400 on the dashboard."""
