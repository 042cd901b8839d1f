"""Legacy store: no row vs `[]` vs a list, writes that keep id/created_at, FK and UUID errors."""

from __future__ import annotations

import pytest

from reconciler.errors import ReconcilerError
from reconciler.live.engine import make_engine
from reconciler.live.legacy import read_legacy, write_legacy
from reconciler.live.locks import client_transaction
from reconciler.model import LegacyRow
from tests.helpers import add_clients, count_statements, is_pg, legacy_rows, run_sql

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
C = "33333333-3333-4333-8333-333333333333"


def _write(url: str, client_id: str, row: LegacyRow | None) -> None:
    with client_transaction(make_engine(url), client_id) as conn:
        write_legacy(conn, client_id, row)


def test_write_then_read_back_whole_rows(store_url: str) -> None:
    add_clients(store_url, [A, B])
    _write(store_url, A, LegacyRow(modules_enabled=("forms", "support"), theme_overrides={"x": 1}))
    _write(store_url, B, LegacyRow(modules_enabled=()))
    rows = legacy_rows(store_url)
    assert [
        {k: v for k, v in r.items() if k not in ("id", "created_at", "updated_at")} for r in rows
    ] == [
        {
            "client_id": A,
            "modules_enabled": ["forms", "support"],
            "theme_overrides": {"x": 1},
            "consultation_config": None,
            "plan_catalog_overrides": None,
            "catalog_overrides": None,
        },
        {
            "client_id": B,
            "modules_enabled": [],
            "theme_overrides": None,
            "consultation_config": None,
            "plan_catalog_overrides": None,
            "catalog_overrides": None,
        },
    ]
    with make_engine(store_url).connect() as conn:
        assert read_legacy(conn) == {
            A: LegacyRow(modules_enabled=("forms", "support"), theme_overrides={"x": 1}),
            B: LegacyRow(modules_enabled=()),
        }
        assert read_legacy(conn, [B, C]) == {B: LegacyRow(modules_enabled=())}


def test_update_keeps_id_and_created_at_and_bumps_updated_at(store_url: str) -> None:
    add_clients(store_url, [A])
    _write(store_url, A, LegacyRow(modules_enabled=("forms",)))
    run_sql(
        store_url,
        "UPDATE client_app_overrides SET created_at = '2001-01-01 00:00:00.000000', "
        "updated_at = '2001-01-01 00:00:00.000000'",
    )
    [before] = legacy_rows(store_url)
    _write(store_url, A, LegacyRow(modules_enabled=("forms", "documents")))
    [after] = legacy_rows(store_url)
    assert (after["id"], after["created_at"]) == (before["id"], before["created_at"])
    assert after["updated_at"] > before["updated_at"]
    assert after["modules_enabled"] == ["forms", "documents"]


def test_none_deletes_the_row(store_url: str) -> None:
    add_clients(store_url, [A])
    _write(store_url, A, LegacyRow(modules_enabled=()))
    _write(store_url, A, None)
    _write(store_url, A, None)  # deleting a missing row is fine
    assert legacy_rows(store_url) == []


def test_unknown_client_in_clients_table_is_named(store_url: str) -> None:
    if not is_pg(store_url):
        # The original FK on SQLite: a clients table and a legacy table referencing it.
        run_sql(store_url, "DROP TABLE client_app_overrides")
        run_sql(store_url, "CREATE TABLE clients (id VARCHAR(36) PRIMARY KEY)")
        from reconciler.live.migrate import init

        init(make_engine(store_url))
    add_clients(store_url, [A])
    _write(store_url, A, LegacyRow(modules_enabled=("forms",)))
    with pytest.raises(ReconcilerError) as info:
        _write(store_url, B, LegacyRow(modules_enabled=("forms",)))
    assert info.value.message == f"client {B} is not in the clients table"
    assert "references clients(id)" in info.value.hint
    # The failed insert rolled back alone: the same transaction can go on after catching it.
    with client_transaction(make_engine(store_url), B) as conn:
        with pytest.raises(ReconcilerError):
            write_legacy(conn, B, LegacyRow(modules_enabled=()))
        write_legacy(conn, A, LegacyRow(modules_enabled=("documents",)))
    assert [r["modules_enabled"] for r in legacy_rows(store_url)] == [["documents"]]


@pytest.mark.pg
def test_non_uuid_client_id_on_postgresql(pg_store_bare: str) -> None:
    from reconciler.live.migrate import init

    init(make_engine(pg_store_bare))
    with pytest.raises(ReconcilerError) as info:
        _write(pg_store_bare, "acme", LegacyRow(modules_enabled=()))
    assert info.value.message == "client id 'acme' is not a valid UUID"
    with make_engine(pg_store_bare).connect() as conn, pytest.raises(ReconcilerError) as info:
        read_legacy(conn, ["acme"])
    assert info.value.message == "client id 'acme' is not a valid UUID"


def test_ids_keep_the_callers_spelling(store_url: str) -> None:
    add_clients(store_url, [A])
    _write(store_url, A, LegacyRow(modules_enabled=("forms",)))
    with make_engine(store_url).connect() as conn:
        found = read_legacy(conn, [A.upper()]) if is_pg(store_url) else read_legacy(conn, [A])
    assert list(found) == [A.upper() if is_pg(store_url) else A]


def test_malformed_modules_enabled_is_a_clear_error(store_url: str) -> None:
    add_clients(store_url, [A])
    run_sql(
        store_url,
        "INSERT INTO client_app_overrides (client_id, modules_enabled) VALUES (%s, %s)",
        [A, '{"forms": true}'],
    )
    with make_engine(store_url).connect() as conn, pytest.raises(ReconcilerError) as info:
        read_legacy(conn)
    assert info.value.message == (
        f"client {A}: client_app_overrides.modules_enabled is not a JSON array of module ids: "
        "{'forms': True}"
    )


def test_reads_are_set_based(store_url: str) -> None:
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(2500)]
    add_clients(store_url, ids)
    values = ", ".join(f"('{cid}', '[\"forms\"]')" for cid in ids)
    run_sql(
        store_url, f"INSERT INTO client_app_overrides (client_id, modules_enabled) VALUES {values}"
    )
    engine = make_engine(store_url)
    with engine.connect() as conn, count_statements(engine) as counter:
        everything = read_legacy(conn)
        some = read_legacy(conn, ids)
    assert len(everything) == len(some) == 2500
    assert len(counter.queries) == 1 + 3  # all rows: one query; 2,500 ids: batches of 1,000
