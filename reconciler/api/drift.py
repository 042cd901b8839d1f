"""`drift`: classify clients against desired state and history, and `--heal` (SPEC §6)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from reconciler.api import _batches, heap
from reconciler.api._fleet import Progress, walk_in_store
from reconciler.api.apply import apply
from reconciler.api.notify import notify_drift
from reconciler.api.plan import plan
from reconciler.desired.secrets import unresolved_error
from reconciler.desired.shown import ShownPaths
from reconciler.live.engine import display_url
from reconciler.plan.drift import ClientDrift, DriftClass, DriftReport
from reconciler.results import ApplyReport, ClientResult, RunMeta
from reconciler.webhook import Retry


def drift(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    client_ids: Sequence[str] = (),
    shard: str | None = None,
    jobs: int | None = None,
    on_progress: Progress | None = None,
    notify: Sequence[str] = (),
    retry: Retry | None = None,
) -> DriftReport:
    """Classify each client: in sync, drifted, pending, or never applied (SPEC §6).

    Args:
        store_url: SQLAlchemy URL of the live stores.
        desired_dir: the desired-state directory.
        ref: read the desired state from this git revision.
        client_ids, shard, jobs, on_progress: as for `plan`.
        notify: webhook URLs sent one event per drift transition (api/notify.py).
        retry: tries and backoff of each webhook delivery.

    Returns:
        A `DriftReport`; `report.any_drifted` means exit code 2 for the CLI. With `notify`,
        its `notifications` say what each URL got; a failed delivery never raises.

    Raises:
        ValidationFailed, ReconcilerError: as for `plan`.
    """
    clients: list[ClientDrift] = []
    shown = ShownPaths(desired_dir)  # files relative to the cwd (issue 16)
    fleet = walk_in_store(
        store_url,
        desired_dir,
        ref,
        _batches.drift,
        client_ids=client_ids,
        shard=shard,
        jobs=jobs,
        on_progress=on_progress,
        extra=(shown,),
    )
    unresolved: list[str] = []
    with fleet as (stream, batches), heap.kept() as keep:
        for batch, missing in batches:
            clients.extend(batch)
            unresolved.extend(missing)
            keep()  # the batch read: not traversed again by every later gc pass
        commit = stream.source.commit
    if unresolved:
        raise unresolved_error(unresolved)
    clients.sort(key=lambda c: c.client_id)
    report = DriftReport(
        clients=tuple(clients), store=display_url(store_url), desired_commit=commit
    )
    if not notify:
        return report
    sent = notify_drift(store_url, report, notify, desired_dir=desired_dir, retry=retry)
    return replace(report, notifications=sent)


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
    drifted = [c.client_id for c in report.clients if DriftClass.DRIFTED in c.classes]
    if not drifted:
        return ApplyReport(kind="heal", run_id=None)
    planned = plan(store_url, desired_dir, ref=ref, client_ids=drifted)
    return apply(store_url, planned, force=force, meta=meta, on_done=on_done, kind="heal")
