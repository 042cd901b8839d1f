"""`rollout`: apply the desired state in waves, each gated by health checks (issue 14).

`rollout_plan` shows the waves, their clients and changes; `rollout_start` records a rollout
and drives it; `rollout_resume` continues one that stopped (paused, failed, or its process
killed); `rollout_abort` ends one; `rollout_status` reads them back. Each wave's apply, and
each revert, is a normal run in history, linked to the rollout.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from reconciler.api._rollout_read import read_report
from reconciler.api._store import Store, open_store
from reconciler.api.apply import apply
from reconciler.api.plan import plan_loaded
from reconciler.api.revert import revert
from reconciler.api.validate import validate
from reconciler.apply.gate import missing_commands
from reconciler.apply.rollout import APPLIED, Driver, Steps
from reconciler.apply.runs import enforce_safety
from reconciler.errors import (
    Problem,
    ReconcilerError,
    RolloutNotFound,
    UnsafePlan,
    ValidationFailed,
)
from reconciler.live.rollouts import (
    ACTIVE_STATES,
    create_rollout,
    drive_lock,
    get_rollout,
    list_rollouts,
    save_rollout,
)
from reconciler.model import DesiredState, Settings
from reconciler.plan.waves import assign, wave_to_json
from reconciler.results import RunMeta
from reconciler.rollout_results import RolloutList, RolloutPlan, RolloutReport, WavePlan

Events = Callable[[str], None]


def rollout_plan(
    store_url: str, desired_dir: str = "desired-state", *, ref: str | None = None
) -> RolloutPlan:
    """The waves of reconciler.yaml `rollout:` with their clients and the changes of each.

    Raises:
        ValidationFailed: the desired state is invalid, it has no `rollout:`, a wave selects
            no client (or only clients of earlier waves), or a check command is not found;
            every problem has its file:line:col.
    """
    state = validate(desired_dir, ref=ref)
    return _plan(store_url, state, desired_dir)


def _plan(store_url: str, state: DesiredState, desired_dir: str) -> RolloutPlan:
    waves = state.settings.rollout
    if not waves:
        raise ReconcilerError(
            "reconciler.yaml has no `rollout:` waves",
            hint="add `rollout: {waves: [...]}`; `reconciler schema settings` documents it",
        )
    assignment = assign(waves, state.clients.values())
    problems = [*assignment.problems, *missing_commands(waves, desired_dir)]
    if problems:
        raise ValidationFailed(
            f"{len(problems)} problem(s) in the rollout waves",
            hint="fix reconciler.yaml `rollout:`; nothing was written",
            problems=problems,
        )
    plans = []
    for i, (wave, ids) in enumerate(zip(waves, assignment.waves, strict=True)):
        planned = plan_loaded(store_url, state, [state.clients[c] for c in ids], root=desired_dir)
        try:
            enforce_safety(planned, force=False)
            safety: tuple[Problem, ...] = ()
        except UnsafePlan as exc:
            safety = tuple(
                Problem(p.location, p.path, f"wave {wave.name}: {p.reason}") for p in exc.problems
            )
        plans.append(
            WavePlan(
                index=i,
                name=wave.name,
                config=wave_to_json(wave),
                clients=ids,
                plan=planned,
                safety=safety,
            )
        )
    return RolloutPlan(
        store=plans[0].plan.store,
        desired_commit=state.commit,
        waves=tuple(plans),
        unselected=assignment.unselected,
        names={c.client_id: c.name for c in state.clients.values()},
    )


def rollout_start(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    force: bool = False,
    meta: RunMeta | None = None,
    on_event: Events | None = None,
) -> RolloutReport:
    """Plan the rollout, record it, and drive it wave by wave to the end or to a stop.

    Safety thresholds apply to each wave's run and are checked for every wave before anything
    is written (`force` skips them). Only one rollout may be unfinished at a time.

    Returns:
        The rollout as recorded; `report.ok` only when every wave passed (exit 0, else 1).

    Raises:
        ValidationFailed, UnsafePlan, ReconcilerError (another rollout is unfinished):
            nothing was written.
    """
    meta = meta or RunMeta()
    state = validate(desired_dir, ref=ref)
    planned = _plan(store_url, state, desired_dir)
    if not force:
        problems = [p for w in planned.waves for p in w.safety]
        if problems:
            raise UnsafePlan(
                f"rollout refused before any write: {len(problems)} safety check(s) failed",
                hint="review `reconciler rollout`; rerun with --force --reason to proceed",
                problems=problems,
            )
    with open_store(store_url) as store:
        waves = [
            {**w.config, "clients": list(w.clients), "state": "pending", "attempt": 0, "note": ""}
            for w in planned.waves
        ]
        rollout_id = create_rollout(
            store.engine,
            now=meta.clock(),
            waves=waves,
            unselected=planned.unselected,
            actor=meta.resolved_actor(),
            command=meta.command,
            reason=meta.reason,
            force=force,
            desired_commit=state.commit,
            store=store.display,
        )
        return _drive(store, rollout_id, state, desired_dir, force, meta, on_event)


def rollout_resume(
    store_url: str,
    rollout_id: int,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    force: bool = False,
    meta: RunMeta | None = None,
    on_event: Events | None = None,
) -> RolloutReport:
    """Continue a paused, failed or interrupted rollout from where it stopped.

    The waves and their clients are those recorded at the start; each wave still to apply is
    planned from the desired state as it is now. A wave whose gate failed is applied again
    (after its revert), a paused wave has its gate run again, and a wave cut short by a kill
    is finished without writing any client twice.

    Raises:
        ReconcilerError: unknown rollout, a finished or aborted one, or another process is
            driving it.
    """
    meta = meta or RunMeta()
    state = validate(desired_dir, ref=ref)
    with open_store(store_url) as store:
        row = _require(store, rollout_id)
        force = force or bool(row.force)
        return _drive(store, rollout_id, state, desired_dir, force, meta, on_event)


def rollout_abort(
    store_url: str,
    rollout_id: int,
    *,
    revert_applied: bool = False,
    meta: RunMeta | None = None,
    on_event: Events | None = None,
) -> RolloutReport:
    """End an unfinished rollout: no further wave is applied. With `revert_applied`, every
    wave still in effect is reverted first, newest first (each a revert run).

    Raises:
        ReconcilerError: unknown, finished or aborted rollout, or another process drives it.
    """
    meta = meta or RunMeta()
    with open_store(store_url) as store:
        _require(store, rollout_id)
        with drive_lock(store.engine, rollout_id):
            row = _require(store, rollout_id)
            driver = Driver(
                engine=store.engine,
                rollout_id=rollout_id,
                waves=[dict(w) for w in row.waves],
                state=DesiredState(root="", settings=Settings(), catalog={}, clients={}),
                root="",
                steps=_steps(store, None, "", force=True, meta=meta, on_event=on_event),
            )
            message = f"aborted by {meta.resolved_actor()}"
            if revert_applied:
                for j in reversed(range(len(driver.waves))):
                    if driver.waves[j]["state"] in APPLIED and driver.revert_wave(j):
                        driver.waves[j].update(state="reverted", note="reverted by abort")
                message += "; applied waves reverted" if not driver.errors else ""
            if driver.errors:
                message += "; revert incomplete: " + "; ".join(driver.errors)
            save_rollout(
                store.engine,
                rollout_id,
                now=meta.clock(),
                waves=driver.waves,
                state="aborted",
                message=message,
                finished=True,
            )
        with store.connect() as conn:
            return read_report(conn, rollout_id)


def rollout_status(store_url: str, rollout_id: int | None = None) -> RolloutReport | RolloutList:
    """One rollout as recorded (waves, runs, latest gate results), or the recent ones.

    Raises:
        ReconcilerError: unknown rollout id.
    """
    with open_store(store_url) as store, store.connect() as conn:
        if rollout_id is not None:
            if get_rollout(conn, rollout_id) is None:
                raise _not_found(rollout_id)
            return read_report(conn, rollout_id)
        return RolloutList(rollouts=tuple(read_report(conn, r.id) for r in list_rollouts(conn)))


def _drive(
    store: Store,
    rollout_id: int,
    state: DesiredState,
    desired_dir: str,
    force: bool,
    meta: RunMeta,
    on_event: Events | None,
) -> RolloutReport:
    with drive_lock(store.engine, rollout_id):
        row = _require(store, rollout_id)  # read again under the lock
        Driver(
            engine=store.engine,
            rollout_id=rollout_id,
            waves=[dict(w) for w in row.waves],
            state=state,
            root=os.path.abspath(desired_dir),
            steps=_steps(store, state, desired_dir, force=force, meta=meta, on_event=on_event),
        ).run()
    with store.connect() as conn:
        return read_report(conn, rollout_id)


def _steps(
    store: Store,
    state: DesiredState | None,
    desired_dir: str,
    *,
    force: bool,
    meta: RunMeta,
    on_event: Events | None,
) -> Steps:
    def plan_wave(clients: Sequence[Any]) -> Any:
        assert state is not None
        return plan_loaded(store.url, state, clients, root=desired_dir)

    return Steps(
        plan=plan_wave,
        apply=lambda planned, link: apply(
            store.url, planned, force=force, meta=meta, on_start=link
        ),
        revert=lambda run_id, clients, link: revert(
            store.url, run_id, client_ids=clients, meta=meta, on_start=link
        ),
        on_event=on_event or (lambda _: None),
        clock=meta.clock,
    )


def _require(store: Store, rollout_id: int) -> Any:
    with store.connect() as conn:
        row = get_rollout(conn, rollout_id)
    if row is None:
        raise _not_found(rollout_id)
    if row.state not in ACTIVE_STATES:
        raise ReconcilerError(
            f"rollout {rollout_id} is {row.state}; only a running, paused or failed rollout "
            "can be resumed or aborted",
            hint="start a new one with `reconciler rollout --yes`",
        )
    return row


def _not_found(rollout_id: int) -> ReconcilerError:
    return RolloutNotFound(
        f"rollout {rollout_id} not found", hint="list rollouts with `reconciler rollout status`"
    )
