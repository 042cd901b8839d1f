"""Shared fixtures: a guarded default store, real SQLite and PostgreSQL stores (STYLE §8).

- autouse guard: RECONCILER_TESTING=1 makes make_engine refuse sqlite:///reconciler.db, and
  RECONCILER_STORE points every test at its own tmp file.
- `pg_url` (session): a fresh database `reconciler_test_<random>` on RECONCILER_TEST_PG, dropped
  WITH (FORCE) at the end; skipped with a reason when the variable is unset.
- `store_url`: parametrized sqlite | postgresql (marked `pg`), initialised. On PostgreSQL a
  fresh schema holds `clients` and `client_app_overrides` from the original migration SQL
  (tests/fixtures/sql/), so every client must be added with helpers.add_clients first.
- `store_url_bare`: the same, but empty and not initialised (no clients table either).
- `pg_store`, `pg_store_bare`, `sqlite_store_bare`: one dialect only, for dialect-specific tests.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from reconciler.live.cache import CACHE
from reconciler.live.engine import dispose_engine, dispose_engines, make_engine
from reconciler.live.migrate import init
from tests.helpers import ORIGINAL_SQL, raw_connect

os.environ["RECONCILER_TESTING"] = "1"  # inherited by subprocesses too
PG_SKIP_REASON = "RECONCILER_TEST_PG not set: PostgreSQL tests skipped"
STORE_PARAMS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked slow first, the rest in file order (a stable sort): under pytest-xdist the
    long fault and secrets walks start at once and short tests even out the workers at the end,
    instead of one long walk running alone while the other workers are idle."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _guard_default_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    monkeypatch.setenv("RECONCILER_TESTING", "1")
    # Run in GitHub Actions, `validate` and `plan` would default to --format github (issue 16).
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    env_store = tmp_path_factory.mktemp("env-store") / "env-default.db"
    monkeypatch.setenv("RECONCILER_STORE", f"sqlite:///{env_store}")
    # Each test its own desired-state cache (issue 15): never one in the repository (tests read
    # the bundled desired-state/ in place), and never one test's cache answering another's.
    monkeypatch.setenv("RECONCILER_CACHE_DIR", str(tmp_path_factory.mktemp("desired-cache")))
    CACHE.clear()
    yield
    CACHE.clear()


def _admin_conninfo(url: str) -> str:
    return (
        make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    base = os.environ.get("RECONCILER_TEST_PG")
    if not base:
        pytest.skip(PG_SKIP_REASON)
    name = f"reconciler_test_{secrets.token_hex(4)}"
    with psycopg.connect(_admin_conninfo(base), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        dispose_engines()
        with psycopg.connect(_admin_conninfo(base), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_schema_url(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    base = request.getfixturevalue("pg_url")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(_admin_conninfo(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{base}?options=-csearch_path%3D{schema}"
    try:
        yield url, schema
    finally:
        dispose_engine(url)
        with psycopg.connect(_admin_conninfo(base), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=STORE_PARAMS)
def store_url_bare(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """An empty store (no tables at all), not initialised."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.db"
        yield url
        dispose_engine(url)
        return
    for url, _schema in _pg_schema_url(request):
        yield url


@pytest.fixture(params=STORE_PARAMS)
def store_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> Iterator[str]:
    """An initialised store; on PostgreSQL the legacy table comes from the original SQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/store.db"
        init(make_engine(url))
        yield url
        dispose_engine(url)
        return
    for url, _schema in _pg_schema_url(request):
        _original_then_init(url)
        yield url


def _original_then_init(url: str) -> None:
    """The original application's migration, then `init` (which leaves that table alone)."""
    with raw_connect(url) as conn:
        conn.execute(ORIGINAL_SQL.read_text())
    init(make_engine(url))


@pytest.fixture
def pg_store(request: pytest.FixtureRequest) -> Iterator[str]:
    """PostgreSQL only: like `store_url`'s postgresql variant (clients table, original SQL)."""
    for url, _schema in _pg_schema_url(request):
        _original_then_init(url)
        yield url


@pytest.fixture
def pg_store_bare(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty PostgreSQL schema (skipped without RECONCILER_TEST_PG), not initialised."""
    for url, _schema in _pg_schema_url(request):
        yield url


@pytest.fixture
def sqlite_store_bare(tmp_path: os.PathLike[str]) -> Iterator[str]:
    """An empty SQLite file store, not initialised."""
    url = f"sqlite:///{tmp_path}/store.db"
    yield url
    dispose_engine(url)
