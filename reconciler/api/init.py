"""`init`: create or upgrade the live stores' tables (SPEC §4)."""

from __future__ import annotations

from reconciler.api._store import open_store
from reconciler.live.demo import seed_demo
from reconciler.live.migrate import run_init
from reconciler.results import InitResult


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
    with open_store(store_url, initialised=False) as store:
        outcome = run_init(store.engine)
        demo_clients = seed_demo(store.engine) if demo else ()
    return InitResult(
        store=store.display,
        schema_version=outcome.version,
        created_legacy_table=outcome.created_legacy_table,
        applied=outcome.applied,
        demo_clients=demo_clients,
    )
