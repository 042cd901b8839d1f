"""What a run returns and records: apply/revert/heal reports, who ran it, and history."""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from reconciler.errors import BadInput
from reconciler.model import (
    ACTOR_MAX,
    JSON,
    OUTPUT_FORMAT_VERSION,
    REASON_MAX,
    ClientLive,
)

Outcome = Literal["applied", "unchanged", "stale", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("applied", "unchanged", "stale", "failed")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientResult:
    client_id: str
    outcome: Outcome
    message: str = ""

    def to_json(self) -> dict[str, JSON]:
        return {"client_id": self.client_id, "outcome": self.outcome, "message": self.message}


def summarize_results(results: Sequence[ClientResult]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for result in results:
        counts[result.outcome] += 1
    return counts


@dataclass(frozen=True, slots=True, kw_only=True)
class RunMeta:
    """Who runs what and why, recorded with the run."""

    actor: str = ""
    command: str = ""
    reason: str | None = None
    clock: Clock = utc_now

    def check(self) -> RunMeta:
        """Refuse an actor or reason the history table cannot hold (before anything is written)."""
        if len(self.actor) > ACTOR_MAX:
            raise BadInput(
                f"the actor is {len(self.actor)} characters long; at most {ACTOR_MAX} are recorded",
                hint="give a shorter --actor (a user name or an email address)",
            )
        if self.reason is not None and len(self.reason) > REASON_MAX:
            raise BadInput(
                f"the reason is {len(self.reason)} characters long; at most {REASON_MAX} are kept",
                hint="give a shorter --reason, and link to the longer text (a ticket, a PR)",
            )
        return self

    def resolved_actor(self) -> str:
        if self.actor:
            return self.actor
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return os.environ.get("USER", "unknown")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyReport:
    kind: str
    run_id: int | None
    results: tuple[ClientResult, ...] = ()
    plan_summary: Mapping[str, int] = field(default_factory=dict)
    # The desired commit applied (for `--results` files, issue 17); not in to_json.
    desired_commit: str | None = field(default=None, compare=False)

    @property
    def counts(self) -> dict[str, int]:
        return summarize_results(self.results)

    @property
    def ok(self) -> bool:
        counts = self.counts
        return counts["stale"] == 0 and counts["failed"] == 0

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "kind": self.kind,
            "run_id": self.run_id,
            "ok": self.ok,
            "counts": self.counts,
            "plan": dict(self.plan_summary),
            "clients": [r.to_json() for r in self.results],
        }


# --- history --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RunInfo:
    id: int
    kind: str
    started_at: datetime
    finished_at: datetime | None
    actor: str
    command: str
    reason: str | None
    desired_commit: str | None
    store: str
    status: str
    reverts_run: int | None
    summary: Mapping[str, JSON] | None
    clients: int = 0
    host: str | None = None  # the process that ran it (None: recorded before migration 2)
    pid: int | None = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "kind": self.kind,
            "started_at": self.started_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "actor": self.actor,
            "command": self.command,
            "reason": self.reason,
            "desired_commit": self.desired_commit,
            "store": self.store,
            "status": self.status,
            "reverts_run": self.reverts_run,
            "summary": self.summary,
            "clients": self.clients,
            "host": self.host,
            "pid": self.pid,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSnapshot:
    run_id: int
    client_id: str
    before: ClientLive
    after: ClientLive
    committed_at: datetime
    sensitive: Mapping[str, frozenset[tuple[str, ...]]] = field(default_factory=dict)  # as written
    undecryptable: str = ""  # why its encrypted sensitive values cannot be read; "" if they can


@dataclass(frozen=True, slots=True, kw_only=True)
class RunList:
    """Result of `history`: runs, newest first."""

    runs: tuple[RunInfo, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {"format_version": OUTPUT_FORMAT_VERSION, "runs": [r.to_json() for r in self.runs]}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunDetail:
    """Result of `history show`: one run and its clients' before/after (masked for display
    by the API before it is returned)."""

    run: RunInfo
    snapshots: tuple[ClientSnapshot, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "run": self.run.to_json(),
            "clients": [
                {
                    "client_id": s.client_id,
                    "committed_at": s.committed_at.isoformat(),
                    "before": s.before.to_json(),
                    "after": s.after.to_json(),
                }
                for s in self.snapshots
            ],
        }
