"""Store URLs: password-free display, clear errors for bad URLs and unreachable stores."""

from __future__ import annotations

import os

import pytest

from reconciler.errors import ReconcilerError
from reconciler.live.engine import display_url, make_engine, store_errors
from reconciler.live.migrate import init


def test_display_url_hides_the_password() -> None:
    assert (
        display_url("postgresql+psycopg://app:s3cr3t@db.example.com:5432/prod")
        == "postgresql+psycopg://app:***@db.example.com:5432/prod"
    )
    assert display_url("sqlite:///reconciler.db") == "sqlite:///reconciler.db"
    assert display_url("not a url://x:pw@h") == "not a url://x:***@h"


def test_bad_url_is_a_clear_error_without_the_password() -> None:
    with pytest.raises(ReconcilerError) as info:
        make_engine("postgresql+psycopg//app:s3cr3t@host/db")
    assert "s3cr3t" not in info.value.message + info.value.hint
    assert info.value.message.startswith("invalid store URL ")
    assert "--store" in info.value.hint


def test_unsupported_backend_is_refused() -> None:
    with pytest.raises(ReconcilerError) as info:
        make_engine("mysql://app:s3cr3t@host/db")
    assert info.value.message == (
        "unsupported store 'mysql://app:***@host/db': only SQLite and PostgreSQL are supported"
    )


def test_unreachable_host_names_the_store_without_the_password() -> None:
    url = "postgresql+psycopg://app:s3cr3t@127.0.0.1:1/prod?connect_timeout=2"
    with pytest.raises(ReconcilerError) as info, store_errors(url):
        init(make_engine(url))
    text = f"{info.value.message}\n{info.value.hint}"
    assert "s3cr3t" not in text
    assert info.value.message.startswith(
        "store postgresql+psycopg://app:***@127.0.0.1:1/prod?connect_timeout=2: "
    )
    assert "running and reachable" in info.value.hint


def test_wrong_password_error_does_not_echo_it(pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url).set(username="nosuchuser", password="s3cr3t")
    text_url = url.render_as_string(hide_password=False)
    with pytest.raises(ReconcilerError) as info, store_errors(text_url):
        init(make_engine(text_url))
    assert "s3cr3t" not in info.value.message + info.value.hint
    assert ":***@" in info.value.message


def test_sqlite_in_a_missing_directory(tmp_path: os.PathLike[str]) -> None:
    url = f"sqlite:///{tmp_path}/missing/dir/store.db"
    with pytest.raises(ReconcilerError) as info, store_errors(url):
        init(make_engine(url))
    assert info.value.message == f"store {url}: unable to open database file"


def test_default_store_is_refused_in_tests() -> None:
    with pytest.raises(RuntimeError, match="tests must not use the default store"):
        make_engine("sqlite:///reconciler.db")


def test_sqlite_pragmas(sqlite_store_bare: str) -> None:
    with make_engine(sqlite_store_bare).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_plain_postgresql_url_uses_psycopg() -> None:
    engine = make_engine("postgresql://app@127.0.0.1:1/db")
    assert engine.url.drivername == "postgresql+psycopg"


def test_a_snapshot_reads_one_state_of_the_stores(store_url: str) -> None:
    """A plan batch's fingerprints and rows are read in one snapshot (issue 15): a write that
    lands between them is not seen by the second read, so no plan is remembered under a
    fingerprint of other rows."""
    from sqlalchemy import text

    from reconciler.live.engine import snapshot
    from tests.helpers import raw_connect

    query = text("SELECT count(*) FROM reconciler_client_modules")
    with raw_connect(store_url) as writer, snapshot(make_engine(store_url)) as conn:
        before = conn.execute(query).scalar_one()
        writer.execute(
            "INSERT INTO reconciler_client_modules (client_id, module_id, enabled, settings) "
            "VALUES ('11111111-1111-1111-1111-111111111111', 'chat', true, '{}')"
        )
        assert conn.execute(query).scalar_one() == before  # the same state as the first read
    with make_engine(store_url).connect() as fresh:
        assert fresh.execute(query).scalar_one() == before + 1
