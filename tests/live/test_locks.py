"""client_transaction: commit, rollback, and a lock other writers of the client must wait for."""

from __future__ import annotations

import pytest

from reconciler.live.engine import make_engine
from reconciler.live.legacy import write_legacy
from reconciler.live.locks import client_transaction, lock_key
from reconciler.model import LegacyRow
from tests.helpers import add_clients, is_pg, legacy_rows, raw_connect

A = "11111111-1111-4111-8111-111111111111"


def test_commits_on_exit_and_rolls_back_on_error(store_url: str) -> None:
    add_clients(store_url, [A])
    engine = make_engine(store_url)

    def fail_midway() -> None:
        with client_transaction(engine, A) as conn:
            write_legacy(conn, A, LegacyRow(modules_enabled=("forms",)))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        fail_midway()
    assert legacy_rows(store_url) == []
    with client_transaction(engine, A) as conn:
        write_legacy(conn, A, LegacyRow(modules_enabled=("forms",)))
    assert [r["modules_enabled"] for r in legacy_rows(store_url)] == [["forms"]]


def test_the_lock_is_held_for_the_whole_transaction(store_url: str) -> None:
    engine = make_engine(store_url)
    with client_transaction(engine, A):
        other = raw_connect(store_url)
        try:
            if is_pg(store_url):
                got = other.execute("SELECT pg_try_advisory_xact_lock(%s)", (lock_key(A),))
                assert got.fetchone() == (False,)
            else:
                other.execute("PRAGMA busy_timeout=0")
                with pytest.raises(Exception, match="database is locked"):
                    other.execute("BEGIN IMMEDIATE")
        finally:
            other.close()


def test_lock_key_is_stable_and_spelling_independent() -> None:
    assert lock_key(A) == lock_key(A.upper()) == lock_key("{" + A + "}")
    assert lock_key(A) == -1481210953243421860  # sha256-based: same in every process
    assert -(2**63) <= lock_key("acme") < 2**63
    assert lock_key("acme") != lock_key("Acme")
