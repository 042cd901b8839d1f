"""Drive a rollout wave by wave: apply, bake, gate, and on failure revert or pause (issue 14).

Every step is written to the rollout row before and after it happens, so a killed process is
resumed where it stopped: a wave in `applying` is re-planned (its clients already written plan
nothing, so none is written twice), one in `baking` bakes what is left, one in `checking`
runs its gate again, and a `failed` wave whose revert was cut short finishes that revert.
The caller holds `live.rollouts.drive_lock`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from reconciler.apply.gate import failed_clients, run_gate
from reconciler.apply.history import finish_run, get_run
from reconciler.errors import UnsafePlan
from reconciler.live.rollouts import linker, record_gate, rollout_runs, save_rollout
from reconciler.model import ClientDesired, DesiredState
from reconciler.plan.model import Plan
from reconciler.plan.waves import wave_from_json
from reconciler.results import ApplyReport, Clock, utc_now

log = logging.getLogger(__name__)
Link = Callable[[Connection, int], None]
APPLIED = ("applying", "baking", "checking", "passed", "paused", "failed")  # runs in effect


@dataclass(slots=True, kw_only=True)
class Steps:
    """How the driver plans, applies and reverts (api/rollout.py binds them to the store)."""

    plan: Callable[[Sequence[ClientDesired]], Plan]
    apply: Callable[[Plan, Link], ApplyReport]
    revert: Callable[[int, Sequence[str], Link], ApplyReport]
    on_event: Callable[[str], None] = lambda _: None
    clock: Clock = utc_now
    sleep: Callable[[float], None] = time.sleep


@dataclass(slots=True, kw_only=True)
class Driver:
    """One rollout being driven: its row's waves (mutable copies) and what it needs."""

    engine: Engine
    rollout_id: int
    waves: list[dict[str, Any]]
    state: DesiredState
    root: str  # where command checks run
    steps: Steps
    errors: list[str] = field(default_factory=list)

    def run(self) -> str:
        """Drive to the end or to a stop; the rollout state reached."""
        for i, wave in enumerate(self.waves):  # a revert cut short is finished first
            if wave["state"] == "failed" and not self._finish_revert(i):
                return self._stop("failed", "; ".join(self.errors))
        for i, wave in enumerate(self.waves):
            if wave["state"] == "passed":
                continue
            stopped = self._drive(i)
            if stopped is not None:
                return stopped
        self._save("done", "every wave passed", finished=True)
        return "done"

    # --- one wave -------------------------------------------------------------------------

    def _drive(self, i: int) -> str | None:
        wave = self.waves[i]
        name = wave["name"]
        if wave["state"] in ("pending", "reverted"):
            wave["attempt"] = wave.get("attempt", 0) + 1
            self._set(i, "applying", "")
        if wave["state"] == "applying":
            try:
                report = self._apply(i)
            except UnsafePlan as exc:  # refused by a safety threshold: nothing written
                self._stop("paused", f"wave {name}: {exc.message}")
                raise
            if report is not None and not report.ok:
                bad = [r for r in report.results if r.outcome in ("stale", "failed")]
                note = f"apply: {len(bad)} client(s) not applied: {bad[0].message}"
                return self._fail(i, note)
            self._set(i, "baking", "", since=self.steps.clock().isoformat())
        if wave["state"] == "baking":
            if not self._apply_runs(i):
                self._set(i, "passed", "no changes to apply; no gate needed")
                return None
            self._bake(i)
            self._set(i, "checking", "")
        if wave["state"] in ("checking", "paused"):
            if wave["state"] == "paused":
                self._set(i, "checking", "")
            return self._gate(i)
        raise AssertionError(f"wave {name}: unexpected state {wave['state']}")

    def _apply(self, i: int) -> ApplyReport | None:
        wave = self.waves[i]
        for run in self._runs(i, "apply"):
            if run.status == "running":  # its process was killed: only committed clients count
                detail = get_run(self.engine, run.run_id)
                count = 0 if detail is None else len(detail.snapshots)
                finish_run(
                    self.engine,
                    run.run_id,
                    now=self.steps.clock(),
                    status="partial",
                    summary={"applied": count, "interrupted": 1},
                )
                self._event(i, f"run {run.run_id} was interrupted after {count} client(s)")
        clients = [self.state.clients[c] for c in wave["clients"] if c in self.state.clients]
        planned = self.steps.plan(clients)
        if not any(c.writes for c in planned.clients):
            self._event(i, "nothing left to apply")
            return None
        writing = sum(1 for c in planned.clients if c.writes)
        self._event(i, f"applying {writing} client(s) with changes")
        link = linker(self.rollout_id, i, wave["attempt"], "apply")
        report = self.steps.apply(planned, link)
        self._event(i, f"run {report.run_id}: {report.counts['applied']} client(s) applied")
        return report

    def _bake(self, i: int) -> None:
        wave = self.waves[i]
        bake = float(wave["bake_seconds"])
        since = datetime.fromisoformat(wave.get("since") or self.steps.clock().isoformat())
        left = bake - (self.steps.clock() - since).total_seconds()
        if left > 0:
            self._event(i, f"baking {left:.0f} s")
            self.steps.sleep(left)

    def _gate(self, i: int) -> str | None:
        wave = self.waves[i]
        config = wave_from_json(wave)
        clients = [c for c in wave["clients"] if c in self.state.clients]
        if not config.gate.checks:
            self._set(i, "passed", "no gate checks")
            return None
        self._event(i, f"checking {len(clients)} client(s), {len(config.gate.checks)} check(s)")
        outcomes = run_gate(config.gate, clients, self.root)
        wave["rounds"] = wave.get("rounds", 0) + 1
        record_gate(
            self.engine,
            self.rollout_id,
            wave=i,
            attempt=wave["attempt"],
            round_=wave["rounds"],
            results=[o.row() for o in outcomes],
            now=self.steps.clock(),
        )
        failed = failed_clients(outcomes)
        allowed = config.gate.allowed_failures(len(clients))
        counted = f"{len(failed)} of {len(clients)} client(s) failed (allowed {allowed})"
        if len(failed) <= allowed:
            self._set(i, "passed", f"gate passed: {counted}")
            return None
        return self._fail(i, f"gate failed: {counted}")

    def _fail(self, i: int, note: str) -> str:
        """The wave failed (gate or apply): pause, or revert it (or every applied wave)."""
        wave = self.waves[i]
        self._event(i, note)
        on_failure = wave["on_failure"]
        if on_failure == "pause":
            self._set(i, "paused", note)
            return self._stop("paused", f"wave {wave['name']}: {note}")
        scope = [i]
        if on_failure == "revert_all":
            scope = [j for j, w in enumerate(self.waves) if j == i or w["state"] in APPLIED]
        wave["revert_scope"] = scope
        self._set(i, "failed", note)
        self._finish_revert(i)
        message = f"wave {wave['name']}: {note}"
        if self.errors:
            message += "; revert incomplete: " + "; ".join(self.errors)
        return self._stop("failed", message)

    # --- revert ---------------------------------------------------------------------------

    def _finish_revert(self, i: int) -> bool:
        """Revert the failed wave's scope, newest wave and run first; True when all done."""
        scope = self.waves[i].get("revert_scope") or [i]
        note = self.waves[i].get("note", "")
        for j in sorted(scope, reverse=True):
            if self.waves[j]["state"] == "reverted" or not self.revert_wave(j):
                continue
            self._set(j, "reverted", note if j == i else f"reverted with wave {i + 1}")
        return not self.errors

    def revert_wave(self, j: int) -> bool:
        """Revert the current attempt's apply runs of wave `j` (only clients not yet reverted)."""
        ok = True
        wave = self.waves[j]
        reverted: dict[int, set[str]] = {}
        for run in self._runs(j, "revert"):
            detail = get_run(self.engine, run.run_id)
            if detail is not None and run.reverts_run is not None:
                reverted.setdefault(run.reverts_run, set()).update(
                    s.client_id for s in detail.snapshots
                )
        for run in reversed(self._runs(j, "apply")):
            detail = get_run(self.engine, run.run_id)
            done = reverted.get(run.run_id, set())
            todo = [] if detail is None else [s.client_id for s in detail.snapshots]
            todo = [c for c in todo if c not in done]
            if not todo:
                continue
            link = linker(self.rollout_id, j, wave["attempt"], "revert")
            report = self.steps.revert(run.run_id, todo, link)
            self._event(j, f"run {run.run_id} reverted by run {report.run_id}")
            if not report.ok:
                ok = False
                bad = [r for r in report.results if r.outcome != "applied"]
                self.errors.append(f"revert of run {run.run_id}: {bad[0].message}")
        return ok

    # --- bookkeeping ----------------------------------------------------------------------

    def _apply_runs(self, i: int) -> list[Any]:
        return self._runs(i, "apply")

    def _runs(self, i: int, purpose: str) -> list[Any]:
        attempt = self.waves[i].get("attempt", 0)
        with self.engine.connect() as conn:
            rows = rollout_runs(conn, self.rollout_id)
        return [r for r in rows if r.wave == i and r.attempt == attempt and r.purpose == purpose]

    def _set(self, i: int, state: str, note: str, **extra: Any) -> None:
        self.waves[i].update(state=state, note=note, **extra)
        self._save("running")

    def _stop(self, state: str, message: str) -> str:
        self._save(state, message)
        return state

    def _save(self, state: str, message: str | None = None, *, finished: bool = False) -> None:
        save_rollout(
            self.engine,
            self.rollout_id,
            now=self.steps.clock(),
            waves=self.waves,
            state=state,
            message=message,
            finished=finished,
        )

    def _event(self, i: int, text: str) -> None:
        log.info("rollout %d wave %s: %s", self.rollout_id, self.waves[i]["name"], text)
        self.steps.on_event(f"rollout {self.rollout_id} wave {self.waves[i]['name']}: {text}")
