"""Backward-compatible legacy functions and the cached unified read (SPEC §8).

`get_module_overrides`, `save_module_overrides` and `reset_to_defaults` behave like the
original application's functions of the same names: they read and write only the legacy row
of `client_app_overrides`. `unified_modules` combines both stores (SPEC §4) behind a per-client
TTL cache that this process's own writes invalidate; writes by other processes become visible
when the entry expires (default 300 s).

Every function takes `store`, a SQLAlchemy URL; None means env `RECONCILER_STORE`, else
`sqlite:///reconciler.db`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select

from reconciler.errors import ReconcilerError
from reconciler.live.cache import CACHE, DEFAULT_TTL, ClientCache, invalidate
from reconciler.live.engine import make_engine, store_errors, store_key
from reconciler.live.ids import db_client_id
from reconciler.live.legacy import upsert_legacy
from reconciler.live.locks import client_transaction
from reconciler.live.migrate import not_initialised_on_missing_tables, require_initialised
from reconciler.live.registry import plain_json, stored_renames
from reconciler.live.state import read_live
from reconciler.live.tables import client_app_overrides as legacy_table
from reconciler.model import DEFAULT_STORE, JSON, ORIGINAL_LEGACY_DEFAULTS, UnifiedModule
from reconciler.plan.unified import unify

__all__ = [
    "get_module_overrides",
    "reset_to_defaults",
    "save_module_overrides",
    "unified_modules",
]

_verified_stores: set[str] = set()  # stores whose schema version this process has checked
_verified_lock = threading.Lock()


def _store_url(store: str | None) -> str:
    return store or os.environ.get("RECONCILER_STORE") or DEFAULT_STORE


def get_module_overrides(client_id: str, *, store: str | None = None) -> dict[str, Any] | None:
    """Return the client's legacy row, or None when it has none (the client gets legacy defaults).

    Args:
        client_id: the client's id (a UUID on PostgreSQL).
        store: store URL; None means env RECONCILER_STORE, else sqlite:///reconciler.db.

    Returns:
        A dict with the row's columns, as the original returned them: `id`, `client_id`,
        `modules_enabled` (list of module ids; `[]` means no modules), `theme_overrides`,
        `consultation_config`, `plan_catalog_overrides`, `catalog_overrides` (JSON values or
        None), `created_at`, `updated_at` (ISO 8601 strings). None when there is no row.

    Raises:
        ReconcilerError: the store cannot be reached (URL shown without password), the legacy
            table is missing ("store not initialised"), or the id is not a UUID on PostgreSQL.
    """
    url = _store_url(store)
    engine = make_engine(url)
    with store_errors(url), not_initialised_on_missing_tables(), engine.connect() as conn:
        stored = db_client_id(conn.dialect.name, client_id)
        row = conn.execute(
            select(legacy_table).where(legacy_table.c.client_id == stored)
        ).one_or_none()
    if row is None:
        return None
    return {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in row._mapping.items()
    }


def save_module_overrides(
    client_id: str,
    modules_enabled: Sequence[str],
    *,
    theme_overrides: JSON = None,
    consultation_config: JSON = None,
    plan_catalog_overrides: JSON = None,
    catalog_overrides: JSON = None,
    store: str | None = None,
) -> dict[str, Any]:
    """Upsert the client's legacy row, like the original `saveModuleOverrides`.

    Args:
        client_id: the client's id (a UUID on PostgreSQL; must exist in `clients` when that
            table exists, as the original's foreign key requires).
        modules_enabled: the module ids old code will see as enabled; `[]` means none.
        theme_overrides, consultation_config, plan_catalog_overrides, catalog_overrides:
            JSON values for those columns; None (the default) leaves the column as it is
            (a new row gets the column default `{}`), as the original's optional arguments did.
        store: store URL; None means env RECONCILER_STORE, else sqlite:///reconciler.db.

    Returns:
        The row after the write, as `get_module_overrides` returns it.

    Raises:
        ReconcilerError: invalid arguments, unknown client (clients table), a non-UUID id on
            PostgreSQL, or the store cannot be reached / is not initialised.
    """
    if isinstance(modules_enabled, str) or not all(isinstance(m, str) for m in modules_enabled):
        raise ReconcilerError(
            f"client {client_id}: modules_enabled must be a list of module ids, "
            f"got {modules_enabled!r}"
        )
    values: dict[str, JSON] = {"modules_enabled": list(modules_enabled)}
    given = {
        "theme_overrides": theme_overrides,
        "consultation_config": consultation_config,
        "plan_catalog_overrides": plan_catalog_overrides,
        "catalog_overrides": catalog_overrides,
    }
    for column, value in given.items():
        if value is not None:
            values[column] = _json_value(client_id, column, value)
    url = _store_url(store)
    engine = make_engine(url)
    with store_errors(url), not_initialised_on_missing_tables():
        with client_transaction(engine, client_id) as conn:
            upsert_legacy(conn, client_id, values)
        invalidate(store_key(engine), client_id)
    row = get_module_overrides(client_id, store=url)
    assert row is not None  # just written under the client's lock
    return row


def _json_value(client_id: str, column: str, value: JSON) -> JSON:
    plain = plain_json(value)
    try:
        json.dumps(plain, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ReconcilerError(f"client {client_id}: {column} is not JSON: {exc}") from None
    return plain


def reset_to_defaults(client_id: str, *, store: str | None = None) -> None:
    """Delete the client's legacy row, so old code gives it the legacy defaults again.

    Args:
        client_id: the client's id (a UUID on PostgreSQL).
        store: store URL; None means env RECONCILER_STORE, else sqlite:///reconciler.db.

    Raises:
        ReconcilerError: a non-UUID id on PostgreSQL, or the store cannot be reached / is
            not initialised. Resetting a client without a row is not an error.
    """
    url = _store_url(store)
    engine = make_engine(url)
    with store_errors(url), not_initialised_on_missing_tables():
        with client_transaction(engine, client_id) as conn:
            stored = db_client_id(conn.dialect.name, client_id)
            conn.execute(delete(legacy_table).where(legacy_table.c.client_id == stored))
        invalidate(store_key(engine), client_id)


def unified_modules(
    client_id: str,
    *,
    store: str | None = None,
    ttl: float = DEFAULT_TTL,
    legacy_defaults: Sequence[str] | None = None,
    cache: ClientCache | None = None,
) -> list[UnifiedModule]:
    """Return the client's unified view: every module with enabled, version, settings, source.

    Args:
        client_id: the client's id (a UUID on PostgreSQL).
        store: store URL; None means env RECONCILER_STORE, else sqlite:///reconciler.db.
        ttl: seconds a cached view stays valid; 0 disables caching. Writes made through this
            process (compat functions, apply, revert) invalidate the client at once; writes by
            other processes show once the entry expires.
        legacy_defaults: modules a client without a legacy row has; None means the original's
            defaults (analytics, automation, integrations, support). Pass the desired state's
            `settings.legacy_defaults` when you have it.
        cache: the cache to use (tests inject one with a fake clock); None: the process cache.

    Returns:
        UnifiedModule list sorted by id (a legacy entry under an id some module of the synced
        catalog `replaces` shows as that module); `source` is legacy, registry or unified, and
        `conflicts` names disagreements between the stores. Settings are not masked: callers
        that display them must mask sensitive values (reconciler.plan.mask).

    Raises:
        ReconcilerError: the store cannot be reached, is not initialised, or the id is not a
            UUID on PostgreSQL.
    """
    defaults = tuple(ORIGINAL_LEGACY_DEFAULTS if legacy_defaults is None else legacy_defaults)
    url = _store_url(store)
    engine = make_engine(url)
    the_cache = CACHE if cache is None else cache
    key = (store_key(engine), client_id)
    hit, value = the_cache.get(key, defaults, ttl)
    if hit:
        return list(value)
    generation = the_cache.generation(key)
    with store_errors(url), not_initialised_on_missing_tables(), engine.connect() as conn:
        if key[0] not in _verified_stores:
            require_initialised(conn)
            with _verified_lock:
                _verified_stores.add(key[0])
        live = read_live(conn, [client_id])[client_id]
        renames = stored_renames(conn)  # `replaces` of the catalog as last synced (issue 13)
    modules = unify(live, defaults, renames)
    if ttl > 0:
        the_cache.put(key, defaults, tuple(modules), generation, ttl)
    return modules
