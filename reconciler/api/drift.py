"""`drift`: classify clients against desired state and history, and `--heal` (SPEC §6)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from reconciler.api import _batches
from reconciler.api._fleet import Progress, walk_in_store
from reconciler.api.apply import apply
from reconciler.api.plan import plan
from reconciler.desired.shown import ShownPaths
from reconciler.live.engine import display_url
from reconciler.plan.drift import ClientDrift, DriftClass, DriftReport
from reconciler.results import ApplyReport, ClientResult, RunMeta


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
        client_ids, shard, jobs, on_progress: as for `plan`.

    Returns:
        A `DriftReport`; `report.any_drifted` means exit code 2 for the CLI.

    Raises:
        ValidationFailed, ReconcilerError: as for `plan`.
    """
    clients: list[ClientDrift] = []
    fleet = walk_in_store(
        store_url,
        desired_dir,
        ref,
        _batches.drift,
        client_ids=client_ids,
        shard=shard,
        jobs=jobs,
        on_progress=on_progress,
    )
    with fleet as (stream, batches):
        for batch in batches:
            clients.extend(batch)
        commit = stream.source.commit
    clients.sort(key=lambda c: c.client_id)
    shown = ShownPaths(desired_dir)  # files relative to the cwd (issue 16)
    if shown.prefix:
        clients = [dataclasses.replace(c, file=shown(c.file)) for c in clients]
    return DriftReport(clients=tuple(clients), store=display_url(store_url), desired_commit=commit)


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
