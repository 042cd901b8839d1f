"""A run from start to finish: safety, run row, jobs, summary (SPEC §5). Revert is a run too."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from reconciler.apply.history import finish_run, require_run, start_run
from reconciler.apply.transaction import Job, run_jobs
from reconciler.errors import ConnectionLost, ReconcilerError, StalePlan, UnsafePlan
from reconciler.model import ClientDesired, ClientLive, DesiredState
from reconciler.plan.build import plan_client, sensitive_paths
from reconciler.plan.model import Plan
from reconciler.plan.safety import check_safety
from reconciler.plan.saved import SavedPlan
from reconciler.results import ApplyReport, ClientResult, RunMeta, summarize_results


def enforce_safety(plan: Plan, *, force: bool) -> None:
    """Refuse the whole run before any write when a threshold or protected module is hit."""
    if force or plan.settings is None:
        return
    problems = check_safety(
        plan.clients,
        safety=plan.settings.safety,
        catalog=plan.catalog,
        legacy_defaults=plan.settings.legacy_defaults,
    )
    if problems:
        raise UnsafePlan(
            f"run refused before any write: {len(problems)} safety check(s) failed",
            hint="review the plan; rerun with --force (and --reason) to proceed anyway",
            problems=problems,
        )


def execute(
    engine: Engine,
    jobs: Sequence[Job],
    *,
    kind: str,
    meta: RunMeta,
    store: str,
    desired_commit: str | None,
    plan_summary: Mapping[str, int],
    reverts_run: int | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
    on_start: Callable[[Connection, int], None] | None = None,
) -> ApplyReport:
    """Record a run around `jobs`; a run with nothing to do records nothing. `on_start` runs
    in the transaction that creates the run row (see `start_run`)."""
    if not jobs:
        return ApplyReport(kind=kind, run_id=None, plan_summary=plan_summary)
    run_id = start_run(
        engine,
        now=meta.clock(),
        kind=kind,
        actor=meta.resolved_actor(),
        command=meta.command,
        reason=meta.reason,
        desired_commit=desired_commit,
        store=store,
        reverts_run=reverts_run,
        on_start=on_start,
    )
    results: list[ClientResult] = []
    status = "failed"
    finished = False
    try:
        results = run_jobs(engine, jobs, run_id=run_id, clock=meta.clock, on_done=on_done)
        status = (
            "done" if all(r.outcome in ("applied", "unchanged") for r in results) else "partial"
        )
    except ConnectionLost as exc:  # the run stopped: record what it did, then say so
        finished = True
        # The store may still be unreachable or locked: its error must not hide this one.
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            finish_run(
                engine,
                run_id,
                now=meta.clock(),
                status="partial",
                summary=summarize_results(exc.results),
            )
        raise
    finally:
        if not finished:
            finish_run(
                engine,
                run_id,
                now=meta.clock(),
                status=status,
                summary=summarize_results(results),
            )
    return ApplyReport(kind=kind, run_id=run_id, results=tuple(results), plan_summary=plan_summary)


def _constant(state: ClientLive) -> Callable[[ClientLive], ClientLive]:
    """A target function that ignores live state (the plan already decided)."""

    def target(live: ClientLive) -> ClientLive:
        return state

    return target


def plan_jobs(plan: Plan) -> list[Job]:
    """Jobs that write each client's planned target, if live is still what the plan read."""
    jobs = []
    for client in plan.clients:
        if not client.writes or client.target is None:
            continue
        target = client.target
        jobs.append(
            Job(
                client_id=client.client_id,
                expected_fingerprint=client.live_fingerprint,
                target=_constant(target),
            )
        )
    return jobs


def saved_jobs(saved: SavedPlan, state: DesiredState, *, name: str) -> list[Job]:
    """Jobs for a saved plan: recompute each client's plan and refuse it if it changed."""
    legacy_defaults = state.settings.legacy_defaults
    sensitive = sensitive_paths(state.catalog)
    jobs = []
    for entry in saved.clients:
        desired = state.clients.get(entry.client_id)
        if desired is None:
            raise ReconcilerError(
                f"{name}: client {entry.client_id} is no longer in the desired state",
                hint="plan again",
            )

        def target(
            live: ClientLive,
            desired: ClientDesired = desired,
            want: str = entry.changes_fingerprint,
        ) -> ClientLive:
            fresh = plan_client(desired, live, legacy_defaults=legacy_defaults, sensitive=sensitive)
            if fresh.changes_fingerprint() != want or fresh.target is None:
                raise StalePlan(
                    f"client {desired.client_id}: desired state changed since the plan was saved",
                    hint="plan again with `reconciler plan --out FILE`",
                )
            return fresh.target

        jobs.append(
            Job(
                client_id=entry.client_id,
                expected_fingerprint=entry.live_fingerprint,
                target=target,
            )
        )
    return jobs


def revert_jobs(
    engine: Engine, run_id: int, client_ids: Sequence[str], *, force: bool
) -> list[Job]:
    """Jobs restoring each client's before-state of `run_id`, refusing if live moved on."""
    detail = require_run(engine, run_id, client_ids)
    hint = f"live state changed since run {run_id}; rerun with --force to overwrite it"
    return [
        Job(
            client_id=s.client_id,
            expected_fingerprint=None if force else s.after.fingerprint(),
            target=_constant(s.before),
            stale_hint=hint,
        )
        for s in detail.snapshots
    ]
