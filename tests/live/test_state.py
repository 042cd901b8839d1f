"""Live state across both stores: set-based reads, exact writes, batches."""

from __future__ import annotations

from reconciler.live.cache import CACHE
from reconciler.live.engine import make_engine, store_key
from reconciler.live.locks import client_transaction
from reconciler.live.state import iter_live_batches, read_live, write_live
from reconciler.model import ClientLive, LegacyRow, RegistryModule
from tests.helpers import add_clients, count_statements, legacy_rows, registry_rows

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
C = "33333333-3333-4333-8333-333333333333"


def test_write_live_then_read_live(store_url: str) -> None:
    add_clients(store_url, [A, B])
    engine = make_engine(store_url)
    a = ClientLive(
        client_id=A,
        legacy=LegacyRow(modules_enabled=("forms",), theme_overrides={"c": "#fff"}),
        registry={"forms": RegistryModule(enabled=True, version="1.0.0", settings={"k": 1})},
    )
    b = ClientLive(client_id=B, registry={"support": RegistryModule(enabled=False)})
    for live in (a, b):
        with client_transaction(engine, live.client_id) as conn:
            write_live(conn, live)
    with engine.connect() as conn:
        assert read_live(conn) == {A: a, B: b}
        assert read_live(conn, [C, A]) == {A: a, C: ClientLive(client_id=C)}
    # Writing the state back to "nothing" removes the row and the registry rows.
    with client_transaction(engine, A) as conn:
        write_live(conn, ClientLive(client_id=A))
    assert [r["client_id"] for r in legacy_rows(store_url)] == []
    assert [r["client_id"] for r in registry_rows(store_url)] == [B]


def test_write_live_invalidates_the_client_in_the_cache(store_url: str) -> None:
    add_clients(store_url, [A])
    engine = make_engine(store_url)
    key = (store_key(engine), A)
    CACHE.put(key, (), "cached", CACHE.generation(key))
    other = (store_key(engine), B)
    CACHE.put(other, (), "kept", CACHE.generation(other))
    with client_transaction(engine, A) as conn:
        write_live(conn, ClientLive(client_id=A, legacy=LegacyRow(modules_enabled=())))
    assert CACHE.get(key, (), 300.0) == (False, None)
    assert CACHE.get(other, (), 300.0) == (True, "kept")


def test_read_live_of_n_clients_costs_one_query_per_table(store_url: str) -> None:
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(300)]
    add_clients(store_url, ids)
    engine = make_engine(store_url)
    for cid in ids[:3]:
        with client_transaction(engine, cid) as conn:
            write_live(
                conn,
                ClientLive(
                    client_id=cid,
                    legacy=LegacyRow(modules_enabled=("forms",)),
                    registry={"forms": RegistryModule(enabled=True)},
                ),
            )
    with engine.connect() as conn, count_statements(engine) as few:
        read_live(conn, ids[:3])
    with engine.connect() as conn, count_statements(engine) as many:
        assert len(read_live(conn, ids)) == 300
    with engine.connect() as conn, count_statements(engine) as everyone:
        assert len(read_live(conn)) == 3
    assert len(few.queries) == len(many.queries) == len(everyone.queries) == 2


def test_iter_live_batches_in_client_order(store_url: str) -> None:
    ids = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(7)]
    add_clients(store_url, ids)
    engine = make_engine(store_url)
    for n, cid in enumerate(ids):
        live = (
            ClientLive(client_id=cid, legacy=LegacyRow(modules_enabled=()))
            if n % 2
            else ClientLive(client_id=cid, registry={"forms": RegistryModule(enabled=True)})
        )
        with client_transaction(engine, cid) as conn:
            write_live(conn, live)
    with engine.connect() as conn:
        batches = list(iter_live_batches(conn, batch_size=3))
    assert [list(b) for b in batches] == [ids[0:3], ids[3:6], ids[6:7]]
