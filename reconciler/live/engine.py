"""Store URL -> SQLAlchemy engine, password-free display, and actionable store errors (SPEC §4)."""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, make_url

from reconciler.errors import ReconcilerError
from reconciler.model import DEFAULT_STORE
from reconciler.redact import redact_url, redact_urls, secret_param, split_userinfo

SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option read by the SQLite "begin" hook: locks.py sets "IMMEDIATE" (SPEC §5).
SQLITE_BEGIN_OPTION = "reconciler_sqlite_begin"
_STORE_HINT = (
    "check the store URL (--store or env RECONCILER_STORE), e.g. sqlite:///reconciler.db "
    "or postgresql+psycopg://user@host:5432/db"
)

_USERINFO_PASSWORD = re.compile(r":\S+@")  # scheme-less text: `user:password@host`

_engines: dict[str, Engine] = {}  # normalised URL -> engine
_engines_by_text: dict[str, Engine] = {}  # URL as given -> engine
_engines_lock = threading.Lock()


def display_url(url: str | URL) -> str:
    """The URL with every credential it carries shown as *** (the userinfo password, whole even
    when it holds `@` or `:`, and `?password=`-like parameters); never fails."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
    if split_userinfo(text) is None and "://" in text:  # text holding URLs, or no userinfo
        return redact_urls(text)
    if "://" not in text:  # not a URL: hide anything shaped like `user:password@`
        return _USERINFO_PASSWORD.sub(":***@", redact_urls(text))
    return redact_url(text)


def _make_url(url: str) -> URL:
    """make_url, reading a userinfo password with unencoded `@`, `:` or `/` whole (SQLAlchemy
    would end it at its first `@` and take the rest for the host)."""
    parts = split_userinfo(url)
    if parts is None or parts.password is None:
        return make_url(url)
    parsed = make_url(parts.head + parts.rest)
    return parsed.set(username=unquote(parts.user) or None, password=unquote(parts.password))


def parse_url(url: str) -> URL:
    """Parse and normalise a store URL; plain postgresql:// means the psycopg 3 driver."""
    try:
        parsed = _make_url(url)
    except (sa_exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        raise ReconcilerError(
            f"invalid store URL {display_url(url)!r}: {_url_problem(exc)}", hint=_STORE_HINT
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ReconcilerError(
            f"unsupported store {display_url(url)!r}: only SQLite and PostgreSQL are supported",
            hint=_STORE_HINT,
        )
    return parsed


def _url_problem(exc: Exception) -> str:
    if isinstance(exc, ValueError) and "int()" in str(exc):
        return "the port must be a number"
    return redact_urls(str(exc).splitlines()[0]) if str(exc) else type(exc).__name__


def _refuse_default_store_in_tests(parsed: URL) -> None:
    """Tests must never touch the user's default store (STYLE §8 guard)."""
    if os.environ.get("RECONCILER_TESTING") != "1" or parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    if database and Path(database).resolve() == (Path.cwd() / "reconciler.db").resolve():
        raise RuntimeError(f"tests must not use the default store {DEFAULT_STORE}")


def make_engine(url: str) -> Engine:
    """A cached engine for `url`: SQLite gets WAL, foreign keys, a busy timeout and BEGIN hooks."""
    engine = _engines_by_text.get(url)  # hot path (compat calls this per request): no parsing
    if engine is not None:
        return engine
    parsed = parse_url(url)
    _refuse_default_store_in_tests(parsed)
    key = parsed.render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _create(parsed)
            _engines[key] = engine
        _engines_by_text[url] = engine
    return engine


def _create(parsed: URL) -> Engine:
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
            _configure_sqlite(engine)
            return engine
        return create_engine(parsed, pool_pre_ping=False)
    except (sa_exc.ArgumentError, sa_exc.NoSuchModuleError, ImportError) as exc:
        raise ReconcilerError(
            f"cannot use store {display_url(parsed)}: {_first_line(exc, parsed)}", hint=_STORE_HINT
        ) from None


def _configure_sqlite(engine: Engine) -> None:
    """The documented pysqlite recipe: let SQLAlchemy emit BEGIN so IMMEDIATE is possible."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # pysqlite: no implicit BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # before WAL switch
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose reads all see one state of the stores: on PostgreSQL a REPEATABLE
    READ, READ ONLY transaction (SQLite: one transaction, which reads one state too)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def dispose_engines() -> None:
    """Close every cached engine (tests, and processes that fork)."""
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _engines_by_text.clear()


def dispose_engine(url: str) -> None:
    """Close and forget the cached engine of one URL (tests drop their stores)."""
    key = parse_url(url).render_as_string(hide_password=False)
    with _engines_lock:
        engine = _engines.pop(key, None)
        for text, cached in list(_engines_by_text.items()):
            if cached is engine:
                del _engines_by_text[text]
    if engine is not None:
        engine.dispose()


def store_key(engine: Engine) -> str:
    """A password-free identity of the store behind `engine` (cache keys, history rows)."""
    return _hidden(engine.url)


@functools.lru_cache(maxsize=256)
def _hidden(url: URL) -> str:
    return display_url(url)


def _first_line(exc: BaseException, url: URL) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    line = text[0] if text else type(exc).__name__
    if url.password:
        line = line.replace(str(url.password), "***")
    for name, value in url.query.items():  # a driver may quote `?password=` back
        for item in (value,) if isinstance(value, str) else value:
            if len(item) >= 4 and secret_param(name):  # shorter: would mangle the text
                line = line.replace(item, "***")
    return redact_urls(line)


@contextmanager
def store_errors(url: str | URL) -> Iterator[None]:
    """Turn connection-level database failures into ReconcilerError naming the redacted store."""
    try:
        yield
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        parsed = _make_url(url) if isinstance(url, str) else url
        raise ReconcilerError(
            f"store {display_url(parsed)}: {_first_line(exc, parsed)}",
            hint="check that the database server is running and reachable, the credentials, "
            "and the store URL (--store or env RECONCILER_STORE)",
        ) from None
