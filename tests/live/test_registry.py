"""Registry store: a client's rows become exactly what is written; the catalog syncs."""

from __future__ import annotations

from reconciler.live.engine import make_engine
from reconciler.live.locks import client_transaction
from reconciler.live.registry import read_registry, sync_catalog, write_registry
from reconciler.model import ModuleDef, RegistryModule
from tests.helpers import count_statements, registry_rows, run_sql

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"


def _write(url: str, client_id: str, modules: dict[str, RegistryModule]) -> None:
    with client_transaction(make_engine(url), client_id) as conn:
        write_registry(conn, client_id, modules)


def test_rows_become_exactly_the_modules(store_url: str) -> None:
    _write(
        store_url,
        A,
        {
            "forms": RegistryModule(enabled=True, version="1.0.0", settings={"max": 3}),
            "documents": RegistryModule(enabled=False),
        },
    )
    _write(store_url, B, {"forms": RegistryModule(enabled=True)})
    _write(
        store_url,
        A,
        {
            "forms": RegistryModule(enabled=True, version="1.1.0", settings={"max": {"n": 4}}),
            "support": RegistryModule(enabled=True, version="2.0.0"),
        },
    )
    assert registry_rows(store_url) == [
        {
            "client_id": A,
            "module_id": "forms",
            "enabled": True,
            "version": "1.1.0",
            "settings": {"max": {"n": 4}},
        },
        {
            "client_id": A,
            "module_id": "support",
            "enabled": True,
            "version": "2.0.0",
            "settings": {},
        },
        {"client_id": B, "module_id": "forms", "enabled": True, "version": None, "settings": {}},
    ]
    with make_engine(store_url).connect() as conn:
        assert read_registry(conn, [B, "33333333-3333-4333-8333-333333333333"]) == {
            B: {"forms": RegistryModule(enabled=True)}
        }


def test_equal_rows_are_not_rewritten(store_url: str) -> None:
    modules = {"forms": RegistryModule(enabled=True, version="1.0.0", settings={"a": [1, 2]})}
    _write(store_url, A, modules)
    engine = make_engine(store_url)
    with count_statements(engine) as counter:
        _write(store_url, A, dict(modules))
    writes = [
        s
        for s in counter.statements
        if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_sync_catalog_counts_changes(store_url: str) -> None:
    forms = ModuleDef(id="forms", name="Forms", version="1.0.0", capabilities=("forms.build",))
    support = ModuleDef(id="support", name="Support", version="2.0.0")
    engine = make_engine(store_url)
    with engine.begin() as conn:
        assert sync_catalog(conn, {"forms": forms, "support": support}) == 2
    with engine.begin() as conn:
        assert sync_catalog(conn, {"forms": forms, "support": support}) == 0
    newer = ModuleDef(id="forms", name="Forms", version="1.1.0")
    with engine.begin() as conn:
        assert sync_catalog(conn, {"forms": newer}) == 1
    rows = run_sql(store_url, "SELECT id, name, version FROM reconciler_modules ORDER BY id")
    assert rows == [("forms", "Forms", "1.1.0"), ("support", "Support", "2.0.0")]
