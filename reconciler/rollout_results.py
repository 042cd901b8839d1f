"""What `rollout` returns: the plan of its waves, and a rollout's recorded state (issue 14).

A Plan per wave sits inside, so this module stands above plan/ (results/ is below it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.errors import Problem
from reconciler.model import JSON, OUTPUT_FORMAT_VERSION
from reconciler.plan.model import Plan
from reconciler.redact import redact_urls

WAVE_STATES = (
    "pending",
    "applying",
    "baking",
    "checking",
    "passed",
    "failed",
    "reverted",
    "paused",
)


def shown(value: JSON) -> JSON:
    """A wave's config as shown: a password in a health-check URL becomes `***`."""
    if isinstance(value, str):
        return redact_urls(value)
    if isinstance(value, list):
        return [shown(v) for v in value]
    if isinstance(value, dict):
        return {k: shown(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class WavePlan:
    """One wave of a rollout plan: its config, its clients and the plan of those clients."""

    index: int
    name: str
    config: Mapping[str, JSON]  # plan/waves.wave_to_json
    clients: tuple[str, ...]
    plan: Plan
    safety: tuple[Problem, ...] = ()  # thresholds this wave's run would hit

    def to_json(self) -> dict[str, JSON]:
        plan = self.plan.to_json()
        return {
            "index": self.index,
            "name": self.name,
            "config": shown(dict(self.config)),
            "clients": list(self.clients),
            "summary": plan["summary"],
            "changes": plan["clients"],
            "safety": [p.to_json() for p in self.safety],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutPlan:
    """Result of `rollout` without --yes: waves in order, and the clients no wave selects."""

    store: str
    desired_commit: str | None
    waves: tuple[WavePlan, ...]
    unselected: tuple[str, ...] = ()
    names: Mapping[str, str] = field(default_factory=dict)  # client_id -> name

    @property
    def any_changes(self) -> bool:
        return any(c.writes for w in self.waves for c in w.plan.clients)

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "store": self.store,
            "desired_commit": self.desired_commit,
            "waves": [w.to_json() for w in self.waves],
            "unselected": list(self.unselected),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """One check of one client in one gate round."""

    wave: int
    attempt: int
    round: int
    client_id: str
    check: str
    ok: bool
    error: str | None
    attempts: int
    checked_at: datetime

    def to_json(self) -> dict[str, JSON]:
        return {
            "wave": self.wave,
            "attempt": self.attempt,
            "round": self.round,
            "client_id": self.client_id,
            "check": self.check,
            "ok": self.ok,
            "error": self.error,
            "attempts": self.attempts,
            "checked_at": self.checked_at.isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WaveStatus:
    """A wave as recorded: state, clients, its apply and revert runs, its latest gate round."""

    index: int
    name: str
    state: str
    clients: tuple[str, ...]
    attempt: int
    config: Mapping[str, JSON]
    apply_runs: tuple[int, ...] = ()
    revert_runs: tuple[int, ...] = ()
    note: str = ""
    gate: tuple[GateResult, ...] = ()  # the latest round

    @property
    def failed_clients(self) -> tuple[str, ...]:
        return tuple(sorted({g.client_id for g in self.gate if not g.ok}))

    def to_json(self) -> dict[str, JSON]:
        return {
            "index": self.index,
            "name": self.name,
            "state": self.state,
            "clients": list(self.clients),
            "attempt": self.attempt,
            "apply_runs": list(self.apply_runs),
            "revert_runs": list(self.revert_runs),
            "note": self.note,
            "failed_clients": list(self.failed_clients),
            "gate": [g.to_json() for g in self.gate],
            "config": shown(dict(self.config)),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutReport:
    """A rollout as recorded (`rollout --yes`, `status ID`, `resume`, `abort`)."""

    id: int
    state: str  # running | paused | failed | done | aborted
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    actor: str
    reason: str | None
    desired_commit: str | None
    store: str
    message: str | None
    waves: tuple[WaveStatus, ...]
    unselected: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.state == "done"

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "id": self.id,
            "state": self.state,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "finished_at": None if self.finished_at is None else self.finished_at.isoformat(),
            "actor": self.actor,
            "reason": self.reason,
            "desired_commit": self.desired_commit,
            "store": self.store,
            "message": self.message,
            "waves": [w.to_json() for w in self.waves],
            "unselected": list(self.unselected),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutList:
    """Result of `rollout status` without an id: rollouts, newest first."""

    rollouts: tuple[RolloutReport, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "rollouts": [r.to_json() for r in self.rollouts],
        }
