"""What operations return, each with `to_json()`: every layer may import these (STYLE §1).

render/ and the faces lay these out; they never import apply/ or live/ to reach them.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from reconciler.errors import BadInput, Problem
from reconciler.model import (
    ACTOR_MAX,
    JSON,
    OUTPUT_FORMAT_VERSION,
    REASON_MAX,
    ClientLive,
    UnifiedModule,
    source_counts,
)
from reconciler.results_explain import (  # `explain` (issue 16), kept apart for size
    ExplainReport as ExplainReport,
)
from reconciler.results_explain import Origin as Origin
from reconciler.results_explain import Provenance as Provenance

Outcome = Literal["applied", "unchanged", "stale", "failed"]
OUTCOMES: tuple[Outcome, ...] = ("applied", "unchanged", "stale", "failed")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# --- validate ---------------------------------------------------------------------------------


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


# --- init / status ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientStatus:
    """One client of `status`: its unified view (settings already masked) and legacy row."""

    client_id: str
    name: str = ""
    # None: no legacy row (legacy defaults apply); otherwise the row's modules_enabled.
    legacy_modules: tuple[str, ...] | None = None
    overrides: Mapping[str, JSON] = field(default_factory=dict)  # legacy override columns
    modules: tuple[UnifiedModule, ...] = ()

    @property
    def enabled_count(self) -> int:
        return sum(1 for m in self.modules if m.enabled)

    @property
    def conflict_count(self) -> int:
        return sum(len(m.conflicts) for m in self.modules)

    def sources(self) -> dict[str, int]:
        return source_counts(m.source for m in self.modules)

    def to_json(self) -> dict[str, JSON]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "legacy_row": self.legacy_modules is not None,
            "legacy_modules_enabled": (
                None if self.legacy_modules is None else list(self.legacy_modules)
            ),
            "overrides": {k: self.overrides[k] for k in sorted(self.overrides)},
            "enabled_count": self.enabled_count,
            "sources": self.sources(),
            "conflict_count": self.conflict_count,
            "modules": [m.to_json() for m in self.modules],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """Result of `status`: the fleet (one line per client) or chosen clients in detail."""

    store: str  # display URL, password as ***
    legacy_defaults: tuple[str, ...]
    clients: tuple[ClientStatus, ...]
    detailed: bool = False  # True when clients were chosen with --client
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "store": self.store,
            "legacy_defaults": list(self.legacy_defaults),
            "detailed": self.detailed,
            "clients": [c.to_json() for c in self.clients],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InitResult:
    """Result of `init`: the store, its schema version and what was done."""

    store: str  # display URL, password as ***
    schema_version: int
    created_legacy_table: bool
    applied: tuple[tuple[int, str], ...] = ()  # (version, description) of migrations run
    demo_clients: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "store": self.store,
            "schema_version": self.schema_version,
            "created_legacy_table": self.created_legacy_table,
            "applied": [{"version": v, "description": d} for v, d in self.applied],
            "demo_clients": list(self.demo_clients),
        }


# --- apply / revert / heal -------------------------------------------------------------------


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


# --- import ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedModule:
    """One live module of an imported client: where it lives and how the file holds it."""

    id: str
    source: str  # legacy | registry | unified
    enabled: bool
    version: str | None
    handling: str  # listed | preserve | omit | unknown (not in the catalog)
    conflicts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "source": self.source,
            "enabled": self.enabled,
            "version": self.version,
            "handling": self.handling,
            "conflicts": list(self.conflicts),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedClient:
    """One client of an import: its file and what happened to it."""

    client_id: str
    file: str  # the path written (or that would have been)
    status: str  # written | overwritten | exists | failed
    strategy: str = "merge"
    legacy_row: bool = True
    modules: tuple[ImportedModule, ...] = ()
    conflicts: tuple[str, ...] = ()  # client-level: overrides, failures
    error: str = ""
    secret_variables: tuple[tuple[str, str, str], ...] = ()  # (env variable, module, setting)

    @property
    def conflict_count(self) -> int:
        return len(self.conflicts) + sum(len(m.conflicts) for m in self.modules)

    def warnings(self) -> list[str]:
        """Every conflict as one line: `client ID: module: text`."""
        lines = [f"client {self.client_id}: {c}" for c in self.conflicts]
        for module in self.modules:
            lines += [f"client {self.client_id}: {module.id}: {c}" for c in module.conflicts]
        return lines

    def to_json(self) -> dict[str, JSON]:
        sources = source_counts(m.source for m in self.modules)
        return {
            "client_id": self.client_id,
            "file": self.file,
            "status": self.status,
            "strategy": self.strategy,
            "legacy_row": self.legacy_row,
            "sources": sources,
            "modules": [m.to_json() for m in self.modules],
            "conflicts": list(self.conflicts),
            "error": self.error,
            "secret_variables": [
                {"variable": v, "module": m, "setting": p} for v, m, p in self.secret_variables
            ],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    """Result of `import`: one entry per client, in client id order."""

    store: str
    out_dir: str
    clients: tuple[ImportedClient, ...] = ()

    @property
    def ok(self) -> bool:
        """False when a file was refused (exists, no --force) or a client failed: exit 1."""
        return all(c.status in ("written", "overwritten") for c in self.clients)

    def to_json(self) -> dict[str, JSON]:
        counts = {s: 0 for s in ("written", "overwritten", "exists", "failed")}
        for client in self.clients:
            counts[client.status] += 1
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "kind": "import",
            "store": self.store,
            "out_dir": self.out_dir,
            "summary": {**counts, "conflicts": sum(c.conflict_count for c in self.clients)},
            "clients": [c.to_json() for c in self.clients],
            "secret_variables": [
                {"client_id": c.client_id, **v}
                for c in self.clients
                for v in c.to_json()["secret_variables"]
            ],
        }
