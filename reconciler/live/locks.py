"""Write transactions serialised across processes (SPEC §5): per client, and for the catalog.

PostgreSQL: transaction-scoped advisory locks on stable 64-bit hashes of what is locked.
SQLite: `BEGIN IMMEDIATE` takes the database write lock up front, so two writers never both
read and then fail to upgrade (busy timeout makes the second wait).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Collection, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from reconciler.live.engine import SQLITE_BEGIN_OPTION

log = logging.getLogger(__name__)
SLOW_LOCK_SECONDS = 1.0  # a wait this long is worth a line at -v: another writer held it


def lock_key(client_id: str) -> int:
    """Stable signed 64-bit key for pg_advisory_xact_lock; UUID spellings share one key."""
    try:
        canonical = str(uuid.UUID(client_id))
    except ValueError:
        canonical = client_id
    return _named_key(f"reconciler:client:{canonical}")


def _named_key(name: str) -> int:
    """A signed 64-bit advisory-lock key: the first 8 bytes of the name's sha256."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


_CATALOG_LOCK_KEY = _named_key("reconciler:catalog")


@contextmanager
def _locked_transaction(engine: Engine, keys: Collection[int]) -> Iterator[Connection]:
    """A write transaction holding the advisory locks `keys`, taken in ascending order so two
    processes locking overlapping sets never deadlock; commit on exit, else roll back."""
    ordered = sorted(set(keys))
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        asked = time.perf_counter()
        with conn.begin():
            if conn.dialect.name == "postgresql" and ordered:
                conn.execute(
                    text(
                        "SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k"
                    ),
                    {"keys": ordered},
                )
            waited = time.perf_counter() - asked
            log.log(
                logging.INFO if waited >= SLOW_LOCK_SECONDS else logging.DEBUG,
                "lock: %d key(s) taken after %.3f s",
                len(ordered),
                waited,
            )
            yield conn


@contextmanager
def client_transaction(engine: Engine, client_id: str) -> Iterator[Connection]:
    """A connection in a transaction holding the client's lock; commit on exit, else roll back."""
    with _locked_transaction(engine, [lock_key(client_id)]) as conn:
        yield conn


@contextmanager
def clients_transaction(engine: Engine, client_ids: Collection[str]) -> Iterator[Connection]:
    """One transaction holding the locks of several clients; commit on exit, else roll back."""
    with _locked_transaction(engine, [lock_key(cid) for cid in client_ids]) as conn:
        yield conn


@contextmanager
def catalog_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for syncing the module catalog: it reads, then inserts or updates, so two
    processes starting an apply at once must take turns (else a duplicate key on PostgreSQL,
    `database is locked` on SQLite when a reader tries to become a writer)."""
    with _locked_transaction(engine, [_CATALOG_LOCK_KEY]) as conn:
        yield conn


_ROLLOUTS_LOCK_KEY = _named_key("reconciler:rollouts")


@contextmanager
def rollouts_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for starting a rollout: two processes starting one at once take turns,
    so the second sees the first as unfinished (one rollout at a time, issue 14)."""
    with _locked_transaction(engine, [_ROLLOUTS_LOCK_KEY]) as conn:
        yield conn
