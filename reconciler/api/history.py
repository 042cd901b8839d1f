"""`history` and `history show`: recorded runs and their per-client before/after (SPEC §5)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from reconciler.api._fleet import desired_stream
from reconciler.api._store import Store, open_store
from reconciler.apply.history import KindTotals as KindTotals
from reconciler.apply.history import list_runs, require_run, run_totals
from reconciler.errors import ReconcilerError
from reconciler.live.registry import stored_sensitive_paths
from reconciler.model import ModuleDef
from reconciler.plan.mask import Masker, with_catalog, with_recorded
from reconciler.results import RunDetail, RunInfo


def history(store_url: str, *, client_id: str | None = None, limit: int = 20) -> list[RunInfo]:
    """Recorded runs, newest first; with `client_id`, only runs that changed that client.

    Raises:
        ReconcilerError: unreachable or uninitialised store.
    """
    with open_store(store_url) as store:
        return list_runs(store.engine, client_id=client_id, limit=limit)


def totals(store_url: str) -> list[KindTotals]:
    """Per run kind: runs per status, client writes recorded, and the newest run (`/metrics`).

    Raises:
        ReconcilerError: unreachable or uninitialised store.
    """
    with open_store(store_url) as store:
        return run_totals(store.engine)


def show_run(
    store_url: str,
    run_id: int,
    *,
    client_ids: Sequence[str] = (),
    desired_dir: str = "desired-state",
    masker: Masker | None = None,
) -> RunDetail:
    """One run with every client's before and after state, sensitive settings masked (by the
    store's catalog as last applied and the desired catalog when `desired_dir` loads), or by
    `masker` when given (the dashboard keeps one).

    Raises:
        RunNotFound: no such run, or it did not change one of `client_ids`.
    """
    with open_store(store_url) as store:
        detail = require_run(store.engine, run_id, client_ids)
        mask = masker or masker_of(store, desired_dir)
    masked = []
    for s in detail.snapshots:
        # By what was sensitive when the snapshot was written, joined with today's (issue 18).
        both = Masker(with_recorded(mask.sensitive, s.sensitive))
        masked.append(replace(s, before=both(s.before), after=both(s.after), undecryptable=""))
    return replace(detail, snapshots=tuple(masked))


history_show = show_run  # the name of the first API (kept for callers)


def masker(store_url: str, desired_dir: str = "desired-state") -> Masker:
    """A function masking sensitive settings in snapshots (see `show_run`)."""
    with open_store(store_url, initialised=False) as store:
        return masker_of(store, desired_dir)


def masker_of(store: Store, desired_dir: str) -> Masker:
    """A setting marked sensitive in the store's catalog or in the desired catalog (its
    catalog only, not its clients) is masked."""
    catalog: dict[str, ModuleDef] = {}
    if Path(desired_dir).is_dir():
        try:
            with desired_stream(desired_dir, None) as stream:
                catalog = stream.catalog
        except ReconcilerError:
            catalog = {}
    with store.connect() as conn:
        return Masker(with_catalog(stored_sensitive_paths(conn), catalog))
