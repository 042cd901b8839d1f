"""A run from start to finish: safety, run row, jobs, summary (SPEC §5). Revert is a run too."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from sqlalchemy import Connection, Engine
from sqlalchemy import exc as sa_exc

from reconciler.apply.history import finish_run, require_run, start_run
from reconciler.apply.sealing import KEY_ENV, Sealer, history_key
from reconciler.apply.transaction import Job, JobSource, run_jobs
from reconciler.errors import ConnectionLost, Problem, ReconcilerError, StalePlan, UnsafePlan
from reconciler.live.registry import stored_sensitive_paths
from reconciler.model import ClientDesired, ClientLive, DesiredState, rename_map
from reconciler.plan.build import plan_client, sensitive_paths
from reconciler.plan.model import Plan
from reconciler.plan.safety import check_safety
from reconciler.plan.saved import SavedPlan
from reconciler.plan.violation import Violation
from reconciler.results import ApplyReport, ClientResult, RunMeta, summarize_results

log = logging.getLogger(__name__)


def enforce_safety(plan: Plan, *, force: bool) -> None:
    """Refuse the whole run before any write when a threshold or protected module is hit."""
    if force or plan.settings is None:
        return
    refuse_unsafe(
        check_safety(
            plan.clients,
            safety=plan.settings.safety,
            catalog=plan.catalog,
            legacy_defaults=plan.settings.legacy_defaults,
            settings_file=plan.settings_file,
        )
    )


def refuse_unsafe(problems: Sequence[Problem]) -> None:
    """Raise UnsafePlan when safety `problems` were found (a streamed run gathers them)."""
    if problems:
        raise UnsafePlan(
            f"run refused before any write: {len(problems)} safety check(s) failed",
            hint="review the plan; rerun with --force (and --reason) to proceed anyway",
            problems=list(problems),
        )


def enforce_policies(plan: Plan, *, force: bool, reason: str | None) -> int:
    """Refuse the whole run before any write when a `deny` policy is broken (issue 16), unless
    `force` with a `reason`; returns how many denials are overridden (recorded with the run)."""
    return enforce_denials(plan.violations, force=force, reason=reason)


def enforce_denials(violations: Iterable[Violation], *, force: bool, reason: str | None) -> int:
    """`enforce_policies` over the policy violations of a run, however they were gathered."""
    denied = [v for v in violations if v.effect == "deny"]
    if not denied:
        return 0
    problems = [
        Problem(v.location, v.client_name or v.client_id, f"{v.policy}: {v.message} ({v.change})")
        for v in denied
    ]
    if force and reason and reason.strip():
        return len(denied)
    if force:
        raise UnsafePlan(
            f"run refused before any write: --force overrides {len(denied)} policy denial(s) "
            "only with a --reason",
            hint='say why with --reason "..." (recorded in history with the run)',
            problems=problems,
        )
    raise UnsafePlan(
        f"run refused before any write: {len(denied)} change(s) denied by policy",
        hint='change the desired state, or rerun with --force --reason "..." to override '
        "(recorded in history)",
        problems=problems,
    )


def execute(
    engine: Engine,
    jobs: JobSource,
    *,
    kind: str,
    meta: RunMeta,
    store: str,
    desired_commit: str | None,
    plan_summary: Mapping[str, int],
    reverts_run: int | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
    recorded: Mapping[str, int] | None = None,
    on_start: Callable[[Connection, int], None] | None = None,
) -> ApplyReport:
    """Record a run around `jobs`; a run with nothing to do records nothing. `recorded` joins
    the run's summary in history (e.g. the policy denials a --force overrode); `on_start`
    runs in the transaction that creates the run row (see `start_run`)."""
    if not jobs:
        return ApplyReport(
            kind=kind, run_id=None, plan_summary=plan_summary, desired_commit=desired_commit
        )
    meta.check()
    sealer = _sealer(engine)  # before the run row: a bad history key refuses the run
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
    log.info("%s run %d: %d client(s) to write on %s", kind, run_id, len(jobs), store)
    started = time.perf_counter()
    results: list[ClientResult] = []
    status = "failed"
    finished = False
    try:
        results = run_jobs(
            engine,
            jobs,
            run_id=run_id,
            clock=meta.clock,
            on_done=on_done,
            sealer=sealer,
            total=len(jobs),
        )
        status = run_status(results)
    except ConnectionLost as exc:  # the run stopped: record what it did, then say so
        finished = True
        # The store may still be unreachable or locked: its error must not hide this one.
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            finish_run(
                engine,
                run_id,
                now=meta.clock(),
                status="partial",
                summary={**summarize_results(exc.results), **(recorded or {})},
            )
        raise
    finally:
        if not finished:
            finish_run(
                engine,
                run_id,
                now=meta.clock(),
                status=status,
                summary={**summarize_results(results), **(recorded or {})},
            )
    log.info(
        "%s run %d: %s in %.3f s",
        kind,
        run_id,
        ", ".join(f"{n} {outcome}" for outcome, n in summarize_results(results).items()),
        time.perf_counter() - started,
    )
    return ApplyReport(
        kind=kind,
        run_id=run_id,
        results=tuple(results),
        plan_summary=plan_summary,
        desired_commit=desired_commit,
    )


def run_status(results: Sequence[ClientResult]) -> str:
    """`done` when every client was applied or unchanged; `refused` when nothing was written
    and clients were refused as stale (a stale revert or apply: no run of 0 clients that
    looks done or partial); `partial` otherwise."""
    outcomes = {r.outcome for r in results}
    if outcomes <= {"applied", "unchanged"}:
        return "done"
    if "stale" in outcomes and not outcomes & {"applied", "failed"}:
        return "refused"
    return "partial"


def _sealer(engine: Engine) -> Sealer:
    """The run's history sealing: the store's catalog (synced from the desired state before
    the run) says what is sensitive; `RECONCILER_HISTORY_KEY` encrypts it."""
    key = history_key()
    with engine.connect() as conn:
        return Sealer(sensitive=stored_sensitive_paths(conn), key=key)


def _refuse(message: str, hint: str) -> Callable[[ClientLive], ClientLive]:
    """A target function that refuses the client (nothing is written for it)."""

    def target(live: ClientLive) -> ClientLive:
        raise ReconcilerError(message, hint=hint)

    return target


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
    renames = rename_map(state.catalog.values())
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
            fresh = plan_client(
                desired,
                live,
                legacy_defaults=legacy_defaults,
                sensitive=sensitive,
                adopt_only=saved.adopt_only,
                renames=renames,
            )
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
    detail = require_run(engine, run_id, client_ids, key=history_key())
    hint = f"live state changed since run {run_id}; rerun with --force to overwrite it"
    jobs = []
    for s in detail.snapshots:
        if s.undecryptable:  # never a silent wrong revert (issue 18)
            message = (
                f"client {s.client_id}: run {run_id} stored its sensitive settings encrypted "
                f"and {s.undecryptable}; refused, nothing written for it"
            )
            key_hint = f"set {KEY_ENV} to the key run {run_id} was written with"
            jobs.append(
                Job(
                    client_id=s.client_id,
                    expected_fingerprint=None,
                    target=_refuse(message, key_hint),
                )
            )
            continue
        jobs.append(
            Job(
                client_id=s.client_id,
                expected_fingerprint=None if force else s.after.fingerprint(),
                target=_constant(s.before),
                stale_hint=hint,
                sensitive=s.sensitive,
            )
        )
    return jobs
