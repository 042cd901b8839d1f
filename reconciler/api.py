"""The product's Python API: one public function per operation (STYLE §4).

The CLI and the web dashboard are thin skins over these functions. Each function raises
`reconciler.errors.ReconcilerError` (or a subclass) for anything a user can fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler import chunks
from reconciler.apply.runner import ApplyReport, RunMeta

R = TypeVar("R")
Progress = Callable[[int, int], None]  # (done, total)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from reconciler.apply.executor import ClientResult
    from reconciler.apply.history import RunDetail, RunInfo
    from reconciler.desired.load import DesiredStream
    from reconciler.import_report import ImportReport
    from reconciler.model import (
        ClientDesired,
        ClientLive,
        ClientStatus,
        DesiredState,
        InitResult,
        ModuleDef,
        StatusReport,
        StrategyName,
    )
    from reconciler.plan.changed import ChangedSince
    from reconciler.plan.drift import DriftReport
    from reconciler.plan.model import ClientPlan, Plan
    from reconciler.render.runs import Masker

# Each operation lives in its own section below. Helpers implementing an operation replace
# only their own section.

# --- validate (issue 3) ---------------------------------------------------------------------


def validate(desired_dir: str = "desired-state", *, ref: str | None = None) -> DesiredState:
    """Load, check and resolve a desired-state directory (SPEC §3).

    Args:
        desired_dir: the directory holding reconciler.yaml, modules/, profiles/, clients/.
        ref: a git revision (branch, tag, sha, HEAD~1...) to read instead of the working tree,
            without checking it out; `desired_dir` then names the directory's place in the
            repository that contains it.

    Returns:
        The resolved DesiredState: settings, module catalog, and every client resolved
        (settings defaults -> profiles in order -> client file).

    Raises:
        ValidationFailed: with every problem (file:line:column, JSON path, reason), sorted.
        ReconcilerError: the directory or its reconciler.yaml is missing (at `ref`); with `ref`,
            the directory is not in a git repository or the revision is unknown.
        The CLI exits 1 for both, 0 when the state is valid.
    """
    from reconciler.desired.load import load_desired
    from reconciler.desired.source import GitRevision

    if ref is None:
        return load_desired(desired_dir)
    with GitRevision(desired_dir, ref) as source:
        return load_desired(source)


def check(
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    jobs: int | None = None,
    on_progress: Progress | None = None,
) -> dict[str, int]:
    """Validate like `validate`, streaming: memory grows with a batch of clients, not the fleet.

    Returns:
        Counts of what was read: clients, modules, profiles.

    Raises:
        ValidationFailed, ReconcilerError: as `validate`.
    """
    with _desired_stream(desired_dir, ref) as stream:
        clients = sum(stream.map(chunks.count, jobs=_jobs(jobs), on_progress=on_progress))
        stream.finish()
        return {
            "clients": clients,
            "modules": len(stream.catalog),
            "profiles": len(stream.profiles),
        }


@contextmanager
def _desired_stream(desired_dir: str, ref: str | None) -> Iterator[DesiredStream]:
    """The desired state of the working tree or of git revision `ref`, to read in batches."""
    from reconciler.desired.load import DesiredStream
    from reconciler.desired.source import GitRevision, WorkingTree

    if ref is None:
        yield DesiredStream(WorkingTree(desired_dir))
        return
    with GitRevision(desired_dir, ref) as source:
        yield DesiredStream(source)


def _jobs(jobs: int | None) -> int:
    from reconciler.desired.parallel import default_jobs

    return default_jobs() if jobs is None else jobs


def _fleet(
    stream: DesiredStream,
    task: Callable[..., R],
    args: tuple[Any, ...],
    client_ids: Sequence[str],
    jobs: int | None,
    on_progress: Progress | None = None,
) -> Iterator[R]:
    """`task` over every batch of the fleet (reconciler/chunks.py); after the last batch,
    every problem of the desired state is raised, and `--client` ids that no file has."""
    from reconciler.errors import ReconcilerError

    yield from stream.map(task, args, jobs=_jobs(jobs), on_progress=on_progress)
    stream.finish()
    unknown = sorted(set(client_ids) - stream.client_ids)
    if unknown:
        raise ReconcilerError(
            f"client(s) not in the desired state: {', '.join(unknown)}",
            hint=f"client ids are the client_id of files under {stream.source.root}/clients/",
        )


@contextmanager
def _walk_fleet(
    store_url: str,
    desired_dir: str,
    ref: str | None,
    task: Callable[..., R],
    client_ids: Sequence[str],
    shard: str | None,
    jobs: int | None,
    on_progress: Progress | None,
) -> Iterator[tuple[DesiredStream, Iterator[R]]]:
    """The desired stream, and `task(stream, batch, store_url, client_ids, shard)` over every
    batch of the fleet (see `_fleet`), in an initialised store; for plan and drift."""
    from reconciler.live.engine import make_engine, store_errors
    from reconciler.live.migrate import require_initialised

    with (
        _desired_stream(desired_dir, ref) as stream,
        store_errors(store_url),
        make_engine(store_url).connect() as conn,
    ):
        require_initialised(conn)
        args = (store_url, client_ids, shard)
        yield stream, _fleet(stream, task, args, client_ids, jobs, on_progress)


def schema(kind: str) -> str:
    """The JSON Schema text of a desired-state file kind: settings, module, profile or client.

    Raises:
        ReconcilerError: an unknown kind (the message lists the known ones).
    """
    from reconciler.desired.schema import schema_text

    return schema_text(kind)


# --- init / status (issue 4) -----------------------------------------------------------------


def init(store_url: str, *, demo: bool = False) -> InitResult:
    """Create or upgrade the live stores' tables; optionally seed demo live state.

    Creates `client_app_overrides` only when it is missing (an existing table, e.g. from the
    original application's migrations, is never altered), then runs the reconciler's ordered
    migrations and records the schema version. Safe to run again and from two processes.

    Args:
        store_url: SQLAlchemy URL of the store (sqlite:///... or postgresql+psycopg://...).
        demo: also write live state for the example clients of desired-state/, replacing
            whatever those six clients had (it differs from desired state on purpose).

    Returns:
        InitResult: the password-free store URL, the schema version, and what was done.

    Raises:
        ReconcilerError: bad URL or unreachable store (URL shown without password), a store
            schema newer than this release, or a demo client missing from `clients`.
        CLI exit code 1 for these, 0 otherwise.
    """
    from reconciler.live.demo import seed_demo
    from reconciler.live.engine import display_url, make_engine, store_errors
    from reconciler.live.migrate import run_init
    from reconciler.model import InitResult

    engine = make_engine(store_url)
    with store_errors(store_url):
        outcome = run_init(engine)
        demo_clients = seed_demo(engine) if demo else ()
    return InitResult(
        store=display_url(store_url),
        schema_version=outcome.version,
        created_legacy_table=outcome.created_legacy_table,
        applied=outcome.applied,
        demo_clients=demo_clients,
    )


def status(
    store_url: str,
    client_ids: Sequence[str] = (),
    legacy_defaults: Sequence[str] | None = None,
    sensitive: Mapping[str, frozenset[tuple[str, ...]]] | None = None,
    *,
    desired_dir: str | None = None,
) -> StatusReport:
    """The live unified view (SPEC §4): every client, or the chosen clients in detail.

    Args:
        store_url: SQLAlchemy URL of the store.
        client_ids: clients to show in detail; empty means the whole fleet (every client with
            live state, plus the desired state's clients when it is loaded).
        legacy_defaults: modules of a client without a legacy row; None: from the desired
            state's settings when loaded, else the original's defaults.
        sensitive: module id -> settings paths to mask; None: from the store's synced catalog
            and the desired catalog. Modules no catalog knows get secret-like keys masked.
        desired_dir: a desired-state directory for names, defaults and sensitive paths; used
            only when it exists. If it fails to load, status still runs and says so.

    Returns:
        StatusReport with settings masked as "(sensitive)"; `warnings` hold the conflicts
        between the stores (detailed view) and anything status could not do.

    Raises:
        ReconcilerError: unreachable or uninitialised store, or a client id the store cannot
            hold (not a UUID on PostgreSQL), named in the message. CLI exit code 1.
    """
    from reconciler.live.engine import display_url, make_engine, store_errors
    from reconciler.live.migrate import require_initialised
    from reconciler.live.state import read_live
    from reconciler.model import ORIGINAL_LEGACY_DEFAULTS, ClientLive, StatusReport

    warnings: list[str] = []
    desired = _desired_for_status(desired_dir, warnings, client_ids)
    defaults = tuple(
        legacy_defaults
        if legacy_defaults is not None
        else desired.settings.legacy_defaults
        if desired is not None
        else ORIGINAL_LEGACY_DEFAULTS
    )
    names = {cid: c.name for cid, c in desired.clients.items()} if desired else {}
    chosen = list(dict.fromkeys(client_ids))
    with store_errors(store_url), make_engine(store_url).connect() as conn:
        require_initialised(conn)
        live = read_live(conn, chosen or None)
        paths = dict(sensitive) if sensitive is not None else _sensitive_paths(conn, desired)
    if not chosen:
        for cid in names:
            live.setdefault(cid, ClientLive(client_id=cid))
    clients = []
    for cid in chosen or sorted(live):  # detail in the order asked, the fleet sorted
        client = _client_status(live[cid], names.get(cid, ""), defaults, paths)
        clients.append(client)
        if not chosen:
            continue
        label = client.name or client.client_id
        if live[cid].legacy is None and not live[cid].registry:
            warnings.append(
                f"client {label}: no live state (no legacy row, so legacy defaults apply; "
                "no registry rows)"
            )
        for module in client.modules:
            warnings.extend(f"client {label}: {module.id}: {c}" for c in module.conflicts)
    return StatusReport(
        store=display_url(store_url),
        legacy_defaults=defaults,
        clients=tuple(clients),
        detailed=bool(chosen),
        warnings=tuple(warnings),
    )


def _desired_for_status(
    desired_dir: str | None, warnings: list[str], client_ids: Sequence[str] = ()
) -> DesiredState | None:
    """The desired state when `desired_dir` exists and loads; a warning when it does not load.
    With `client_ids`, only client files whose bytes mention one of them are parsed, so the
    status of one client stays fast in a 100,000-client tree."""
    from pathlib import Path

    from reconciler.errors import ReconcilerError

    if not desired_dir or not Path(desired_dir).is_dir():
        return None
    try:
        from reconciler.desired.load import load_desired
    except ImportError:  # the loader is not part of this build
        return None
    try:
        if not client_ids:
            return load_desired(desired_dir)
        from reconciler.desired.source import WorkingTree

        source = WorkingTree(desired_dir)
        needles = [cid.encode() for cid in client_ids]
        mentioning = []
        for relpath in source.list_files("clients"):
            data = source.read_bytes(relpath)
            if any(n in data for n in needles):
                mentioning.append(relpath)
        return load_desired(source, only_client_files=mentioning)
    except ReconcilerError as exc:
        warnings.append(
            f"desired state in {desired_dir} not loaded ({exc.message}); showing live state with "
            "the original legacy defaults; run `reconciler validate`"
        )
        return None


def _sensitive_paths(
    conn: Any, desired: DesiredState | None
) -> dict[str, frozenset[tuple[str, ...]]]:
    """Sensitive settings paths per module from the store's synced catalog and desired state."""
    from sqlalchemy import select

    from reconciler.desired.schema import sensitive_paths
    from reconciler.live.tables import reconciler_modules

    found: dict[str, set[tuple[str, ...]]] = {}
    for row in conn.execute(select(reconciler_modules.c.id, reconciler_modules.c.definition)):
        schema = (row.definition or {}).get("settings_schema") or {}
        found.setdefault(row.id, set()).update(sensitive_paths(schema))
    for module in desired.catalog.values() if desired else ():
        found.setdefault(module.id, set()).update(module.sensitive_paths)
    return {k: frozenset(v) for k, v in found.items()}


def _client_status(
    live: ClientLive,
    name: str,
    defaults: Sequence[str],
    sensitive: Mapping[str, frozenset[tuple[str, ...]]],
) -> ClientStatus:
    """One client's unified view with settings masked (known paths, else secret-like keys)."""
    from dataclasses import replace

    from reconciler.live.unified import unify
    from reconciler.model import OVERRIDE_COLUMNS, ClientStatus
    from reconciler.plan.mask import mask_secret_like, mask_settings

    modules = tuple(
        replace(
            m,
            settings=mask_settings(m.settings, sensitive[m.id])
            if m.id in sensitive
            else mask_secret_like(m.settings),
        )
        for m in unify(live, defaults)
    )
    legacy = live.legacy
    overrides = (
        {}
        if legacy is None
        else {key: getattr(legacy, column) for key, column in OVERRIDE_COLUMNS.items()}
    )
    return ClientStatus(
        client_id=live.client_id,
        name=name,
        legacy_modules=None if legacy is None else legacy.modules_enabled,
        overrides=overrides,
        modules=modules,
    )


# --- plan / apply / history / revert (issue 5) -----------------------------------------------


def masker(store_url: str, desired_dir: str = "desired-state") -> Masker:
    """A function masking sensitive settings in snapshots, from the catalog of the store (as
    last applied) and of the desired state when it loads (its catalog only, not its clients);
    a setting marked sensitive in either is masked."""
    from pathlib import Path

    from reconciler.errors import ReconcilerError
    from reconciler.live.engine import make_engine, store_errors
    from reconciler.render.runs import Masker

    catalog_only = None
    if Path(desired_dir).is_dir():
        try:
            with _desired_stream(desired_dir, None) as stream:
                catalog_only = stream.state({})
        except ReconcilerError:
            catalog_only = None
    with store_errors(store_url), make_engine(store_url).connect() as conn:
        return Masker(_sensitive_paths(conn, catalog_only))


def plan(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    client_ids: Sequence[str] = (),
    shard: str | None = None,
    changed_since: str | None = None,
    jobs: int | None = None,
    on_progress: Progress | None = None,
) -> Plan:
    """Compute what `apply` would change.

    Args:
        store_url: SQLAlchemy URL of the live stores.
        desired_dir: the desired-state directory (or the path of it inside the repo for `ref`).
        ref: read the desired state from this git revision instead of the working tree.
        client_ids: only these clients (each must exist in the desired state).
        shard: `K/N`, only the clients of that shard.
        jobs: worker processes for a large tree (None: `RECONCILER_JOBS`, else 1).
        on_progress: called as `(client files done, client files in all)` after each batch.
        changed_since: a git revision; plan only the clients whose resolved desired state
            differs between it and the working tree (or `ref`); `plan.changed_since` says
            what was compared and which clients were deleted (see `changed_clients`).

    Returns:
        A `Plan` listing the clients with changes (sorted), with the unchanged count.

    Raises:
        ValidationFailed: the desired state is invalid (exit 1).
        ReconcilerError: the store cannot be read or is not initialised (exit 1).
    """
    if changed_since is not None:
        state, since = changed_clients(desired_dir, changed_since, ref=ref)
        chosen = chunks.select([state.clients[c] for c in since.changed], client_ids, shard)
        return _plan_chosen(store_url, state, chosen, since)
    # Streaming: each batch of clients is resolved, read live and planned, then dropped;
    # only plans with changes are kept (issue 8: memory grows with the batch).
    plans, unchanged = [], 0
    fleet = _walk_fleet(
        store_url, desired_dir, ref, chunks.plan, client_ids, shard, jobs, on_progress
    )
    with fleet as (stream, batches):
        for batch_plans, batch_unchanged in batches:
            plans.extend(batch_plans)
            unchanged += batch_unchanged
        state = stream.state({})
    plans.sort(key=lambda p: p.client_id)
    return _plan_of(store_url, state, plans, unchanged)


def _plan_chosen(
    store_url: str,
    state: DesiredState,
    chosen: Sequence[ClientDesired],
    since: ChangedSince | None = None,
) -> Plan:
    """The plan of these clients of an already loaded desired state (one live read)."""
    from reconciler.live.engine import make_engine, store_errors
    from reconciler.live.migrate import require_initialised
    from reconciler.live.state import read_live
    from reconciler.plan.build import plan_clients

    with store_errors(store_url), make_engine(store_url).connect() as conn:
        require_initialised(conn)
        lives = read_live(conn, [c.client_id for c in chosen])
    plans, unchanged = plan_clients(
        chosen, lives, legacy_defaults=state.settings.legacy_defaults, catalog=state.catalog
    )
    return _plan_of(store_url, state, plans, unchanged, since)


def _plan_of(
    store_url: str,
    state: DesiredState,
    plans: Sequence[ClientPlan],
    unchanged: int,
    since: ChangedSince | None = None,
) -> Plan:
    from reconciler.live.engine import display_url
    from reconciler.plan.model import Plan

    return Plan(
        clients=tuple(plans),
        unchanged=unchanged,
        store=display_url(store_url),
        desired_commit=state.commit,
        desired_root=str(state.root),
        settings=state.settings,
        catalog=state.catalog,
        changed_since=since,
    )


def apply(
    store_url: str,
    planned: Plan,
    *,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
    kind: str = "apply",
) -> ApplyReport:
    """Apply a plan computed by `plan()`: each client atomically, stale-checked and recorded.

    Args:
        store_url: the same store the plan was computed against.
        planned: the plan; clients whose live state changed since are refused as stale.
        force: skip the safety thresholds and protected-module checks.
        meta: actor, command and reason recorded with the run (and the clock).
        on_done: called after each client (progress).
        kind: recorded run kind (`apply`, or `heal` from `drift --heal`).

    Returns:
        An `ApplyReport`; `report.ok` is False when any client was stale or failed (exit 1).

    Raises:
        UnsafePlan: a safety limit was hit and `force` is False; nothing was written.
    """
    from reconciler.apply.runner import enforce_safety, execute, plan_jobs
    from reconciler.live.engine import display_url, make_engine, store_errors

    enforce_safety(planned, force=force)
    with store_errors(store_url):
        engine = make_engine(store_url)
        jobs = plan_jobs(planned)
        if jobs:
            _sync_catalog(engine, planned.catalog)
        return execute(
            engine,
            jobs,
            kind=kind,
            meta=meta or RunMeta(),
            store=display_url(store_url),
            desired_commit=planned.desired_commit,
            plan_summary=planned.summary.to_json(),
            on_done=on_done,
        )


def _sync_catalog(engine: Engine, catalog: Mapping[str, ModuleDef]) -> None:
    """Before a run writes clients: the store's module catalog as the desired state has it,
    synced under its own lock (two runs may start at once)."""
    if not catalog:
        return
    from reconciler.live.locks import catalog_transaction
    from reconciler.live.registry import sync_catalog

    with catalog_transaction(engine) as conn:
        sync_catalog(conn, catalog)


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
    # Safety is judged on the plan as it stands now, from the state loaded once above.
    chosen = [state.clients[c.client_id] for c in saved.clients if c.client_id in state.clients]
    from reconciler.apply.runner import enforce_safety

    enforce_safety(_plan_chosen(store_url, state, chosen), force=force)
    jobs = saved_jobs(saved, state, name=plan_file)
    with store_errors(store_url):
        engine = make_engine(store_url)
        if jobs:  # as `apply` does: history and status mask from it
            _sync_catalog(engine, state.catalog)
        return execute(
            engine,
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

    from reconciler.errors import ReconcilerError
    from reconciler.plan.saved import dump_plan

    try:
        Path(path).write_text(dump_plan(planned), encoding="utf-8")
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write plan file {path}: {exc.strerror or exc}",
            hint="choose a writable path for --out",
        ) from None


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
    missing = sorted(set(client_ids) - {s.client_id for s in detail.snapshots})
    if missing:
        raise ReconcilerError(
            f"run {run_id} did not change client(s) {', '.join(missing)}",
            hint=f"see `reconciler history show {run_id}`",
        )
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


def drift(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    client_ids: Sequence[str] = (),
    shard: str | None = None,
    jobs: int | None = None,
    on_progress: Progress | None = None,
) -> DriftReport:
    """Classify each client: in sync, drifted, pending, or never applied (SPEC §6).

    Args:
        store_url: SQLAlchemy URL of the live stores.
        desired_dir: the desired-state directory.
        ref: read the desired state from this git revision.
        client_ids, shard, jobs: as for `plan`.

    Returns:
        A `DriftReport`; `report.any_drifted` means exit code 2 for the CLI.

    Raises:
        ValidationFailed, ReconcilerError: as for `plan`.
    """
    from reconciler.live.engine import display_url
    from reconciler.plan.drift import DriftReport

    clients: list[Any] = []
    fleet = _walk_fleet(
        store_url, desired_dir, ref, chunks.drift, client_ids, shard, jobs, on_progress
    )
    with fleet as (stream, batches):
        for batch in batches:
            clients.extend(batch)
        state = stream.state({})
    clients.sort(key=lambda c: c.client_id)
    return DriftReport(
        clients=tuple(clients), store=display_url(store_url), desired_commit=state.commit
    )


def heal(
    store_url: str,
    report: DriftReport,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    force: bool = False,
    meta: RunMeta | None = None,
    on_done: Callable[[ClientResult], None] | None = None,
) -> ApplyReport:
    """Apply the desired state to the drifted clients of `report`, recorded as a `heal` run."""
    from reconciler.plan.drift import DriftClass

    drifted = [c.client_id for c in report.clients if DriftClass.DRIFTED in c.classes]
    if not drifted:
        return ApplyReport(kind="heal", run_id=None)
    planned = plan(store_url, desired_dir, ref=ref, client_ids=drifted)
    return apply(store_url, planned, force=force, meta=meta, on_done=on_done, kind="heal")


def changed_clients(
    desired_dir: str, since: str, *, ref: str | None = None
) -> tuple[DesiredState, ChangedSince]:
    """The clients whose resolved desired state differs between git revision `since` and the
    working tree (or `ref`), for `plan --changed-since` (SPEC §6).

    Changed paths come from `git diff --name-only -z` (plus untracked files). When only client
    files changed, just those are parsed and resolved on both sides; when a profile or a module
    changed, only the clients whose files can use it are resolved (a file naming it, found by
    its bytes), then those using it are resolved at `since`; a reconciler.yaml change to what
    clients resolve compares every client. Clients whose file is gone are reported in
    `ChangedSince.deleted` and not planned: their live state is left as is.

    Returns:
        The current desired state (holding at least the changed clients) and what was compared.

    Raises:
        ValidationFailed: the current desired state is invalid. (An invalid state at `since`
            is a warning: every candidate client is then planned.)
        ReconcilerError: not a git repository, or an unknown revision.
    """
    from reconciler.changed_since import changed_clients as compare

    return compare(desired_dir, since, ref=ref)


def import_state(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    client_ids: Sequence[str] = (),
    out_dir: str | None = None,
    force: bool = False,
    strategy: StrategyName = "merge",
) -> ImportReport:
    """Write client YAML from the live state of both stores (SPEC §6, the migration tool).

    Every module is classified as legacy, registry or unified, and conflicts between the
    stores (enabled in one and not the other, a version other than the catalog's, settings a
    file cannot express) are reported per module. Each file starts with the schema modeline,
    validates against `desired_dir`'s settings and catalog, and plans to no writes against live
    state: what cannot be expressed is left out (strategy merge keeps it) or marked
    `strategy: preserve`. A client without a legacy row imports as the legacy defaults.

    Args:
        store_url: SQLAlchemy URL of the live stores.
        desired_dir: the desired-state tree whose settings and catalog the files must pass.
        client_ids: only these clients (also clients with no live state at all); default:
            every client with live state.
        out_dir: where to write the files; default `<desired_dir>/clients`.
        force: overwrite existing files (a client that has a file keeps its file name).
        strategy: the client strategy written (merge, replace or preserve).

    Returns:
        An `ImportReport`; `report.ok` is False (CLI exit 1) when a file existed without
        `force` or a client's live state is not valid desired state.

    Raises:
        ValidationFailed: `desired_dir` itself does not validate.
        ReconcilerError: the store cannot be read or is not initialised; `out_dir` is a file.
    """
    from pathlib import Path

    from reconciler.errors import ReconcilerError
    from reconciler.import_report import ImportReport
    from reconciler.imports import import_clients
    from reconciler.live.engine import display_url, make_engine, store_errors
    from reconciler.live.migrate import require_initialised
    from reconciler.live.state import read_live

    if out_dir and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ReconcilerError(f"--out {out_dir} is not a directory", hint="pass a directory")
    state = validate(desired_dir)
    wanted = sorted(set(client_ids)) or None
    with store_errors(store_url), make_engine(store_url).connect() as conn:
        require_initialised(conn)
        lives = read_live(conn, wanted)
    clients = import_clients(
        state, desired_dir, lives, out_dir=out_dir, force=force, strategy=strategy
    )
    return ImportReport(
        store=display_url(store_url),
        out_dir=out_dir or str(Path(desired_dir) / "clients"),
        clients=tuple(clients),
    )
