"""`reconciler init`: create the legacy table if missing, then migrate the reconciler's tables.

Why an ordered migration list and not Alembic: the reconciler owns a few small tables and must
never autogenerate anything against the application's `client_app_overrides`; a list of
numbered steps run under one lock in one transaction (DDL is transactional on both PostgreSQL
and SQLite) gives idempotence and race safety with no extra dependency, env.py or version
directory to ship. The version record mirrors Alembic's version table (STYLE §7).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import delete, insert, inspect, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from reconciler.errors import ReconcilerError
from reconciler.live import tables
from reconciler.live.engine import SQLITE_BEGIN_OPTION
from reconciler.live.legacy_ddl import create_legacy_table
from reconciler.live.rollouts import ROLLOUT_TABLES

Migration = Callable[[Connection], None]


def _v1(conn: Connection) -> None:
    """Registry, catalog, runs, run snapshots and the schema-version record."""
    # Step 1 creates the version-1 shape; later shapes must arrive as new numbered steps.
    tables.metadata.create_all(conn, tables=list(tables.RECONCILER_TABLES), checkfirst=True)


def _v2(conn: Connection) -> None:
    """The process (host, pid) that runs each run, so a killed run shows as abandoned.
    Step 1 creates today's shape on a new store, so only add what is missing."""
    present = {c["name"] for c in inspect(conn).get_columns("reconciler_runs")}
    for name, sql_type in (("host", "VARCHAR(255)"), ("pid", "INTEGER")):
        if name not in present:
            conn.execute(text(f"ALTER TABLE reconciler_runs ADD COLUMN {name} {sql_type}"))


def _v4(conn: Connection) -> None:
    """Drift notification state (`drift --notify`)."""
    tables.reconciler_drift_state.create(conn, checkfirst=True)


def _v5(conn: Connection) -> None:
    """Rollouts (issue 14): the rollout rows, their runs and their gate results."""
    tables.metadata.create_all(conn, tables=list(ROLLOUT_TABLES), checkfirst=True)


# (version, description, step); append only, never edit a released step. Numbers increase but
# may leave gaps (steps are numbered by the change that brings them): a store records the
# highest step applied, and `init` runs every step above it in order.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "registry, catalog, run history and schema-version tables", _v1),
    (2, "run history records the process (host, pid) of each run", _v2),
    (4, "drift notification state", _v4),
    (5, "rollouts: waves, their runs and gate results", _v5),
)
SCHEMA_VERSION = max(version for version, _, _ in MIGRATIONS)
_INIT_LOCK_KEY = int.from_bytes(hashlib.sha256(b"reconciler:init").digest()[:8], "big", signed=True)
_NOT_INITIALISED_HINT = "run `reconciler init --store ...`"


@dataclass(frozen=True, slots=True, kw_only=True)
class InitOutcome:
    """What `init` did: the version now, whether it created the legacy table, steps applied."""

    version: int
    created_legacy_table: bool
    applied: tuple[tuple[int, str], ...]


def init(engine: Engine) -> int:
    """Create or upgrade the store (idempotent, race-safe); returns the schema version after."""
    return run_init(engine).version


def run_init(engine: Engine) -> InitOutcome:
    """Like `init`, and say what was done."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                # Two concurrent inits: the second waits, then finds everything in place.
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _INIT_LOCK_KEY})
            inspector = inspect(conn)
            created_legacy = not inspector.has_table(tables.LEGACY_TABLE)
            if created_legacy:
                create_legacy_table(conn)
            current = _read_version(conn) if inspector.has_table("reconciler_schema_version") else 0
            if current > SCHEMA_VERSION:
                raise _too_new(current)
            applied = []
            for version, description, step in sorted(MIGRATIONS, key=lambda m: m[0]):
                if version > current:
                    step(conn)
                    applied.append((version, description))
            if applied:
                conn.execute(delete(tables.reconciler_schema_version))
                conn.execute(
                    insert(tables.reconciler_schema_version).values(version=SCHEMA_VERSION)
                )
    return InitOutcome(
        version=max(current, SCHEMA_VERSION),
        created_legacy_table=created_legacy,
        applied=tuple(applied),
    )


def _read_version(conn: Connection) -> int:
    value = conn.execute(select(tables.reconciler_schema_version.c.version)).scalars().all()
    return max(value, default=0)


def _too_new(version: int) -> ReconcilerError:
    return ReconcilerError(
        f"store schema version {version} is newer than this reconciler supports ({SCHEMA_VERSION})",
        hint="upgrade module-reconciler",
    )


def require_initialised(conn: Connection) -> int:
    """Raise ReconcilerError unless `init` has run on this store at the current version."""
    # No savepoint: a missing table ends the caller's work anyway, so skip the round trips.
    with not_initialised_on_missing_tables():
        version = _read_version(conn)
    if version > SCHEMA_VERSION:
        raise _too_new(version)
    if version < SCHEMA_VERSION:
        raise ReconcilerError(
            f"store schema version {version} is older than {SCHEMA_VERSION}",
            hint=_NOT_INITIALISED_HINT,
        )
    return version


def _is_missing_table(exc: sa_exc.DBAPIError) -> bool:
    message = str(exc.orig)
    return "no such table" in message or getattr(exc.orig, "sqlstate", None) == "42P01"


@contextmanager
def not_initialised_on_missing_tables() -> Iterator[None]:
    """Report a query on a missing table as "store not initialised" rather than a raw error."""
    try:
        yield
    except (sa_exc.ProgrammingError, sa_exc.OperationalError) as exc:
        if _is_missing_table(exc):
            raise ReconcilerError("store not initialised", hint=_NOT_INITIALISED_HINT) from None
        raise
