"""Plain-SQL access to test stores, independent of reconciler.live (as old application code reads).

`raw_connect(url)` opens a DB-API connection (sqlite3 or psycopg) from a store URL;
`add_clients`, `legacy_rows`, `registry_rows`, `run_sql` and `sql_session` build on it.
`free_port()`: a loopback port for a server a test starts in a subprocess (safe under xdist).
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

FIXTURES = Path(__file__).parent / "fixtures"
ORIGINAL_SQL = FIXTURES / "sql" / "original_client_app_overrides.sql"


def is_pg(url: str) -> bool:
    return make_url(url).get_backend_name() == "postgresql"


def raw_connect(url: str) -> Any:
    """A DB-API connection to the store `url` (autocommit)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(parsed.database or ":memory:", isolation_level=None, timeout=30)
        conn.execute("PRAGMA foreign_keys=ON")
        return conn
    options = parsed.query.get("options")
    plain = parsed.set(drivername="postgresql", query={})
    conninfo = plain.render_as_string(hide_password=False)
    if isinstance(options, str):
        return psycopg.connect(conninfo, autocommit=True, options=options)
    return psycopg.connect(conninfo, autocommit=True)


def _sql(url: str, statement: str) -> str:
    """Write statements with %s; sqlite3 wants ?."""
    return statement if is_pg(url) else statement.replace("%s", "?")


def run_sql(url: str, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Execute one statement with %s placeholders; return its rows (empty for DDL/DML)."""
    with closing(raw_connect(url)) as conn:
        cursor = conn.execute(_sql(url, statement), tuple(params))
        return list(cursor.fetchall()) if cursor.description else []


Query = Callable[..., list[tuple[Any, ...]]]  # (statement, params=()) -> rows, as run_sql


@contextmanager
def sql_session(url: str) -> Iterator[Query]:
    """`run_sql` on one connection kept open (autocommit: each statement sees what is committed).
    For polling every few milliseconds: a connection per poll starts a PostgreSQL backend each
    time, hundreds a second, taking the CPU from the process being watched."""
    with closing(raw_connect(url)) as conn:

        def query(statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
            cursor = conn.execute(_sql(url, statement), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []

        yield query


def has_table(url: str, name: str) -> bool:
    if is_pg(url):
        query = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
        query += "AND table_name = %s"
    else:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s"
    return bool(run_sql(url, query, [name]))


def add_clients(url: str, ids: Iterable[str]) -> None:
    """Insert the ids into `clients` when that table exists (the original FK needs them)."""
    if not has_table(url, "clients"):
        return
    with closing(raw_connect(url)) as conn:
        for cid in ids:
            conn.execute(
                _sql(url, "INSERT INTO clients (id) VALUES (%s) ON CONFLICT DO NOTHING"), (cid,)
            )


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def legacy_rows(url: str) -> list[dict[str, Any]]:
    """Every client_app_overrides row as a dict (JSON decoded, ids as str), by client_id."""
    rows = run_sql(
        url,
        "SELECT id, client_id, modules_enabled, theme_overrides, consultation_config, "
        "plan_catalog_overrides, catalog_overrides, created_at, updated_at "
        "FROM client_app_overrides ORDER BY client_id",
    )
    keys = (
        "id",
        "client_id",
        "modules_enabled",
        "theme_overrides",
        "consultation_config",
        "plan_catalog_overrides",
        "catalog_overrides",
        "created_at",
        "updated_at",
    )
    result = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["id"], item["client_id"] = str(item["id"]), str(item["client_id"])
        for key in keys[2:7]:
            item[key] = _json(item[key])
        result.append(item)
    return result


def registry_rows(url: str) -> list[dict[str, Any]]:
    """Every reconciler_client_modules row (without updated_at), by client then module."""
    rows = run_sql(
        url,
        "SELECT client_id, module_id, enabled, version, settings "
        "FROM reconciler_client_modules ORDER BY client_id, module_id",
    )
    return [
        {
            "client_id": str(cid),
            "module_id": module_id,
            "enabled": bool(enabled),
            "version": version,
            "settings": _json(settings),
        }
        for cid, module_id, enabled, version, settings in rows
    ]


class StatementCounter:
    """Counts statements an engine sends (SQLAlchemy `before_cursor_execute`)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    @property
    def queries(self) -> list[str]:
        """SELECTs of data only (no BEGIN/SAVEPOINT/PRAGMA, nor the planner setting that keyed
        reads set and restore around themselves: live/stats.py `keyed_reads`)."""
        return [
            s
            for s in self.statements
            if s.lstrip().upper().startswith(("SELECT", "WITH"))
            and "set_config('enable_seqscan'" not in s
        ]


@contextmanager
def count_statements(engine: Any) -> Iterator[StatementCounter]:
    """Count what `engine` executes inside the block."""
    from sqlalchemy import event

    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


# Loopback ports for servers started in subprocesses: each pytest-xdist worker hands out its own
# block, below Linux's ephemeral range (32768-60999), so no other worker picks the same port and
# no outgoing connection (to PostgreSQL, say) takes it between the check and the server's bind.
# A port from bind(("127.0.0.1", 0)) could do both, and a test could then talk to another
# test's server.
_PORT_BASE, _PORT_BLOCK, _PORT_BLOCKS = 20000, 500, 24
_next_port = itertools.count()


def free_port() -> int:
    """A loopback port that is free now and that no other test (in any worker) is handed."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw0", "gw1", ... under xdist
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    base = _PORT_BASE + (index % _PORT_BLOCKS) * _PORT_BLOCK
    for _ in range(_PORT_BLOCK):
        port = base + next(_next_port) % _PORT_BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:  # in use, or still in TIME_WAIT from an earlier test's server
                continue
            return port
    raise RuntimeError(f"no free loopback port in {base}-{base + _PORT_BLOCK - 1}")
