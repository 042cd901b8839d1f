"""The product's Python API: one public function per operation (STYLE §4).

The CLI and the web dashboard are thin skins over these functions. Each function raises
`reconciler.errors.ReconcilerError` (or a subclass) for anything a user can fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from reconciler.apply.runner import ApplyReport, RunMeta

if TYPE_CHECKING:
    from reconciler.apply.executor import ClientResult
    from reconciler.apply.history import RunDetail, RunInfo
    from reconciler.plan.model import Plan
    from reconciler.render.runs import Masker

# Each operation lives in its own section below. Helpers implementing an operation replace
# only their own section.

# --- validate (issue 3) ---------------------------------------------------------------------


def validate(desired_dir: str = "desired-state", *, ref: str | None = None) -> DesiredState:
    """Load, check and resolve a desired-state directory (SPEC §3).

    Args:
        desired_dir: the directory holding reconciler.yaml, modules/, profiles/, clients/.
        ref: a git revision to read instead of the working tree (not supported yet).

    Returns:
        The resolved DesiredState: settings, module catalog, and every client resolved
        (settings defaults -> profiles in order -> client file).

    Raises:
        ValidationFailed: with every problem (file:line:column, JSON path, reason), sorted.
        ReconcilerError: the directory or its reconciler.yaml is missing; `ref` was given.
        The CLI exits 1 for both, 0 when the state is valid.
    """
    from reconciler.desired.load import load_desired
    from reconciler.errors import ReconcilerError

    if ref is not None:
        raise ReconcilerError(
            "--ref is not supported yet", hint="check out the revision and validate the directory"
        )
    return load_desired(desired_dir)


# --- init / status (issue 4) -----------------------------------------------------------------

# --- plan / apply / history / revert (issue 5) -----------------------------------------------


def masker(store_url: str, desired_dir: str = "desired-state") -> Masker:
    """A function masking sensitive settings in snapshots, from the catalog of the store (as
    last applied) and of the desired state when it loads; a setting marked sensitive in either
    is masked."""
    from pathlib import Path

    from sqlalchemy import select

    from reconciler.desired.schema import sensitive_paths
    from reconciler.errors import ReconcilerError
    from reconciler.live.engine import make_engine, store_errors
    from reconciler.live.tables import reconciler_modules
    from reconciler.render.runs import Masker

    sensitive: dict[str, set[tuple[str, ...]]] = {}
    with store_errors(store_url), make_engine(store_url).connect() as conn:
        for row in conn.execute(select(reconciler_modules.c.id, reconciler_modules.c.definition)):
            schema = (row.definition or {}).get("settings_schema") or {}
            sensitive.setdefault(row.id, set()).update(sensitive_paths(schema))
    if Path(desired_dir).is_dir():
        try:
            state = validate(desired_dir)
        except ReconcilerError:
            state = None
        for module in state.catalog.values() if state else ():
            sensitive.setdefault(module.id, set()).update(module.sensitive_paths)
    return Masker({k: frozenset(v) for k, v in sensitive.items()})


def _select_clients(state: Any, client_ids: Sequence[str], shard: str | None) -> list[Any]:
    """The desired clients a run covers: `--client` ids (each must exist) and `--shard K/N`."""
    from reconciler.errors import ReconcilerError
    from reconciler.plan.select import parse_shard

    parsed = parse_shard(shard)
    if client_ids:
        unknown = sorted(set(client_ids) - set(state.clients))
        if unknown:
            raise ReconcilerError(
                f"client(s) not in the desired state: {', '.join(unknown)}",
                hint=f"client ids are the client_id of files under {state.root}/clients/",
            )
        chosen = [state.clients[c] for c in sorted(set(client_ids))]
    else:
        chosen = list(state.clients.values())
    if parsed is not None:
        chosen = [c for c in chosen if c.client_id in parsed]
    return chosen


def plan(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    client_ids: Sequence[str] = (),
    shard: str | None = None,
) -> Plan:
    """Compute what `apply` would change.

    Args:
        store_url: SQLAlchemy URL of the live stores.
        desired_dir: the desired-state directory (or the path of it inside the repo for `ref`).
        ref: read the desired state from this git revision instead of the working tree.
        client_ids: only these clients (each must exist in the desired state).
        shard: `K/N`, only the clients of that shard.

    Returns:
        A `Plan` listing the clients with changes (sorted), with the unchanged count.

    Raises:
        ValidationFailed: the desired state is invalid (exit 1).
        ReconcilerError: the store cannot be read or is not initialised (exit 1).
    """
    from reconciler.live.engine import display_url, make_engine, store_errors
    from reconciler.live.migrate import require_initialised
    from reconciler.live.state import read_live
    from reconciler.plan.build import plan_clients
    from reconciler.plan.model import Plan

    state = validate(desired_dir, ref=ref)
    chosen = _select_clients(state, client_ids, shard)
    with store_errors(store_url):
        engine = make_engine(store_url)
        with engine.connect() as conn:
            require_initialised(conn)
            lives = read_live(conn, [c.client_id for c in chosen])
    plans, unchanged = plan_clients(
        chosen,
        lives,
        legacy_defaults=state.settings.legacy_defaults,
        catalog=state.catalog,
    )
    return Plan(
        clients=tuple(plans),
        unchanged=unchanged,
        store=display_url(store_url),
        desired_commit=state.commit,
        desired_root=str(state.root),
        settings=state.settings,
        catalog=state.catalog,
    )


def apply(
    store_url: str,
    planned: Plan,
    *,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
) -> ApplyReport:
    """Apply a plan computed by `plan()`: each client atomically, stale-checked and recorded.

    Args:
        store_url: the same store the plan was computed against.
        planned: the plan; clients whose live state changed since are refused as stale.
        force: skip the safety thresholds and protected-module checks.
        meta: actor, command and reason recorded with the run (and the clock).
        on_done: called after each client (progress).

    Returns:
        An `ApplyReport`; `report.ok` is False when any client was stale or failed (exit 1).

    Raises:
        UnsafePlan: a safety limit was hit and `force` is False; nothing was written.
    """
    from reconciler.apply.runner import enforce_safety, execute, plan_jobs
    from reconciler.live.engine import display_url, make_engine, store_errors
    from reconciler.live.registry import sync_catalog

    enforce_safety(planned, force=force)
    with store_errors(store_url):
        engine = make_engine(store_url)
        jobs = plan_jobs(planned)
        if jobs and planned.catalog:
            with engine.begin() as conn:
                sync_catalog(conn, planned.catalog)
        return execute(
            engine,
            jobs,
            kind="apply",
            meta=meta or RunMeta(),
            store=display_url(store_url),
            desired_commit=planned.desired_commit,
            plan_summary=planned.summary.to_json(),
            on_done=on_done,
        )


def apply_saved(
    store_url: str,
    plan_file: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
) -> ApplyReport:
    """Apply exactly a plan saved with `plan --out FILE`.

    Sensitive values are not in the file: they come from the desired state, and each client's
    changes must hash exactly as saved. Clients whose live state or desired state changed since
    are refused; the others are applied.

    Raises:
        ReconcilerError: the file is unreadable, damaged, of another format version or for
            another store; nothing is written.
        UnsafePlan: a safety limit was hit and `force` is False; nothing was written.
    """
    from pathlib import Path

    from reconciler.apply.runner import execute, saved_jobs
    from reconciler.errors import ReconcilerError
    from reconciler.live.engine import display_url, make_engine, store_errors
    from reconciler.plan.saved import load_plan

    try:
        text = Path(plan_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconcilerError(
            f"cannot read plan file {plan_file}: {exc}", hint="check the path"
        ) from None
    saved = load_plan(text, name=plan_file)
    if saved.store != display_url(store_url):
        raise ReconcilerError(
            f"{plan_file} was made for store {saved.store}, not {display_url(store_url)}",
            hint="apply it with the same --store, or plan again for this store",
        )
    state = validate(desired_dir, ref=ref)
    current = plan(
        store_url,
        desired_dir,
        ref=ref,
        client_ids=[c.client_id for c in saved.clients if c.client_id in state.clients],
    )
    from reconciler.apply.runner import enforce_safety

    enforce_safety(current, force=force)
    jobs = saved_jobs(saved, state, name=plan_file)
    with store_errors(store_url):
        return execute(
            make_engine(store_url),
            jobs,
            kind="apply",
            meta=meta or RunMeta(),
            store=display_url(store_url),
            desired_commit=saved.desired_commit,
            plan_summary={"clients_changed": len(saved.clients)},
            on_done=on_done,
        )


def save_plan(planned: Plan, path: str) -> None:
    """Write `planned` to `path` as a saved plan (no sensitive values, checksummed)."""
    from pathlib import Path

    from reconciler.plan.saved import dump_plan

    Path(path).write_text(dump_plan(planned), encoding="utf-8")


def history(store_url: str, *, client_id: str | None = None, limit: int = 20) -> list[RunInfo]:
    """Recorded runs, newest first; with `client_id`, only runs that changed that client."""
    from reconciler.apply.history import list_runs
    from reconciler.live.engine import make_engine, store_errors
    from reconciler.live.migrate import require_initialised

    with store_errors(store_url):
        engine = make_engine(store_url)
        with engine.connect() as conn:
            require_initialised(conn)
        return list_runs(engine, client_id=client_id, limit=limit)


def history_show(store_url: str, run_id: int, *, client_ids: Sequence[str] = ()) -> RunDetail:
    """One run with every client's before and after state.

    Raises:
        ReconcilerError: no such run.
    """
    from reconciler.apply.history import get_run
    from reconciler.errors import ReconcilerError
    from reconciler.live.engine import make_engine, store_errors
    from reconciler.live.migrate import require_initialised

    with store_errors(store_url):
        engine = make_engine(store_url)
        with engine.connect() as conn:
            require_initialised(conn)
        detail = get_run(engine, run_id, client_ids=client_ids)
    if detail is None:
        raise ReconcilerError(f"run {run_id} not found", hint="list runs with `reconciler history`")
    return detail


def revert(
    store_url: str,
    run_id: int,
    *,
    client_ids: Sequence[str] = (),
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
) -> ApplyReport:
    """Restore the before-state of run `run_id` (all its clients, or `client_ids`).

    Clients whose live state changed since that run are refused unless `force`. The revert is
    recorded as a run of its own (kind `revert`), so it can be reverted too.

    Raises:
        ReconcilerError: unknown run, or a client that run did not change.
    """
    from reconciler.apply.runner import execute, revert_jobs
    from reconciler.live.engine import display_url, make_engine, store_errors
    from reconciler.live.migrate import require_initialised

    with store_errors(store_url):
        engine = make_engine(store_url)
        with engine.connect() as conn:
            require_initialised(conn)
        jobs = revert_jobs(engine, run_id, client_ids, force=force)
        return execute(
            engine,
            jobs,
            kind="revert",
            meta=meta or RunMeta(),
            store=display_url(store_url),
            desired_commit=None,
            plan_summary={"clients_changed": len(jobs)},
            reverts_run=run_id,
            on_done=on_done,
        )


# --- drift / import (issue 6) ----------------------------------------------------------------
