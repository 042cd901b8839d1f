"""`status`: the live unified view of the fleet or of chosen clients (SPEC §4)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

from reconciler.api._store import open_store
from reconciler.desired.claiming import load_claiming
from reconciler.desired.load import load_desired
from reconciler.errors import ReconcilerError
from reconciler.live.registry import stored_renames, stored_sensitive_paths
from reconciler.live.state import read_live
from reconciler.model import ORIGINAL_LEGACY_DEFAULTS, DesiredState, rename_map
from reconciler.plan.mask import with_catalog
from reconciler.plan.status import fleet_status
from reconciler.results import StatusReport

log = logging.getLogger(__name__)


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
            Renamed modules (`replaces`) show under their new id, by the desired catalog when
            loaded, else by the store's synced catalog.
        desired_dir: a desired-state directory for names, defaults and sensitive paths; used
            only when it exists. If it fails to load, status still runs and says so.

    Returns:
        StatusReport with settings masked as "(sensitive)"; `warnings` hold the conflicts
        between the stores (detailed view) and anything status could not do.

    Raises:
        ReconcilerError: unreachable or uninitialised store, or a client id the store cannot
            hold (not a UUID on PostgreSQL), named in the message. CLI exit code 1.
    """
    warnings: list[str] = []
    chosen = list(dict.fromkeys(client_ids))
    desired = _desired_or_warning(desired_dir, chosen, warnings)
    if legacy_defaults is None:
        legacy_defaults = desired.settings.legacy_defaults if desired else ORIGINAL_LEGACY_DEFAULTS
    names = {cid: c.name for cid, c in desired.clients.items()} if desired else {}
    with open_store(store_url) as store, store.connect() as conn:
        lives = read_live(conn, chosen or None)
        if sensitive is None:
            sensitive = with_catalog(
                stored_sensitive_paths(conn), desired.catalog if desired else {}
            )
        # Renames (`replaces`): the desired catalog's when loaded, else the store's synced one.
        renames = rename_map(desired.catalog.values()) if desired else stored_renames(conn)
    clients, detail_warnings = fleet_status(
        lives, names, legacy_defaults, sensitive, chosen, renames
    )
    return StatusReport(
        store=store.display,
        legacy_defaults=tuple(legacy_defaults),
        clients=tuple(clients),
        detailed=bool(chosen),
        warnings=(*warnings, *detail_warnings),
    )


def _desired_or_warning(
    desired_dir: str | None, client_ids: Collection[str], warnings: list[str]
) -> DesiredState | None:
    """The desired state when `desired_dir` exists and loads (with `client_ids`, only the files
    that claim them, found by the cache's client-id index); a warning when it does not load."""
    if not desired_dir or not Path(desired_dir).is_dir():
        return None
    try:
        return load_claiming(desired_dir, client_ids) if client_ids else load_desired(desired_dir)
    except ReconcilerError as exc:
        warnings.append(
            f"desired state in {desired_dir} not loaded ({exc.message}); showing live state with "
            "the original legacy defaults; run `reconciler validate`"
        )
        return None
