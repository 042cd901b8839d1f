"""Live state of clients in both stores, read set-based and written as one unit (SPEC §4, §5)."""

from __future__ import annotations

from collections.abc import Collection, Iterator

from sqlalchemy import select, union
from sqlalchemy.engine import Connection

from reconciler.live.cache import invalidate
from reconciler.live.engine import store_key
from reconciler.live.legacy import read_legacy, write_legacy
from reconciler.live.registry import read_registry, write_registry
from reconciler.live.tables import client_app_overrides as legacy_table
from reconciler.live.tables import reconciler_client_modules as rows_table
from reconciler.model import ClientLive


def read_live(conn: Connection, client_ids: Collection[str] | None = None) -> dict[str, ClientLive]:
    """Live state by client id, sorted; with `client_ids`, every requested id is present."""
    legacy = read_legacy(conn, client_ids)
    registry = read_registry(conn, client_ids)
    ids = set(client_ids) if client_ids is not None else set(legacy) | set(registry)
    return {
        cid: ClientLive(client_id=cid, legacy=legacy.get(cid), registry=registry.get(cid, {}))
        for cid in sorted(ids)
    }


def write_live(conn: Connection, live: ClientLive) -> None:
    """Make both stores hold exactly `live` for its client, in the caller's transaction."""
    write_legacy(conn, live.client_id, live.legacy)
    write_registry(conn, live.client_id, live.registry)
    invalidate(store_key(conn.engine), live.client_id)


def iter_live_batches(conn: Connection, batch_size: int = 1000) -> Iterator[dict[str, ClientLive]]:
    """Every client with live state, in batches ordered by client_id (keyset pagination)."""
    last: str | None = None
    while True:
        legacy_ids = select(legacy_table.c.client_id.label("client_id"))
        registry_ids = select(rows_table.c.client_id.label("client_id"))
        if last is not None:
            legacy_ids = legacy_ids.where(legacy_table.c.client_id > last)
            registry_ids = registry_ids.where(rows_table.c.client_id > last)
        ids_query = union(legacy_ids, registry_ids).order_by("client_id").limit(batch_size)
        ids = [str(cid) for cid in conn.execute(ids_query).scalars()]
        if not ids:
            return
        yield read_live(conn, ids)
        last = ids[-1]
