"""Legacy-compatible API: behaves like the original; old code reads our writes with plain SQL."""

from __future__ import annotations

import pytest

from reconciler.compat import (
    get_module_overrides,
    reset_to_defaults,
    save_module_overrides,
    unified_modules,
)
from reconciler.errors import ReconcilerError
from tests.helpers import add_clients, is_pg, legacy_rows, run_sql

A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"


def old_code_reads(url: str, client_id: str) -> list[tuple[object, ...]]:
    """What the original application runs: `select modules_enabled ... where client_id = $1`."""
    rows = run_sql(
        url, "select modules_enabled from client_app_overrides where client_id = %s", [client_id]
    )
    return [(r[0] if is_pg(url) else __import__("json").loads(r[0]),) for r in rows]


def test_save_get_reset_round_trip(store_url: str) -> None:
    add_clients(store_url, [A])
    assert get_module_overrides(A, store=store_url) is None
    row = save_module_overrides(
        A, ["forms", "support"], theme_overrides={"primary": "#123"}, store=store_url
    )
    assert old_code_reads(store_url, A) == [(["forms", "support"],)]
    [stored] = legacy_rows(store_url)
    assert row["id"] == stored["id"]
    assert {k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at")} == {
        "client_id": A,
        "modules_enabled": ["forms", "support"],
        "theme_overrides": {"primary": "#123"},
        "consultation_config": {},
        "plan_catalog_overrides": {},
        "catalog_overrides": {},
    }
    assert isinstance(row["created_at"], str)
    assert row["created_at"][:4].isdigit()
    assert get_module_overrides(A, store=store_url) == row
    reset_to_defaults(A, store=store_url)
    assert get_module_overrides(A, store=store_url) is None
    assert old_code_reads(store_url, A) == []
    reset_to_defaults(A, store=store_url)  # no row: still fine


def test_columns_not_given_are_left_alone(store_url: str) -> None:
    add_clients(store_url, [A])
    save_module_overrides(
        A,
        ["forms"],
        theme_overrides={"t": 1},
        consultation_config={"c": 2},
        plan_catalog_overrides={"p": 3},
        catalog_overrides={"k": 4},
        store=store_url,
    )
    before = legacy_rows(store_url)[0]
    save_module_overrides(A, [], consultation_config={"c": 5}, store=store_url)
    after = legacy_rows(store_url)[0]
    assert {k: after[k] for k in after if k != "updated_at"} == {
        **{k: before[k] for k in before if k != "updated_at"},
        "modules_enabled": [],
        "consultation_config": {"c": 5},
    }


def test_no_row_vs_empty_list_vs_list_in_the_unified_view(store_url: str) -> None:
    add_clients(store_url, [A, B])
    defaults = [(m.id, m.source, m.enabled) for m in unified_modules(A, store=store_url)]
    assert defaults == [
        ("analytics", "legacy", True),
        ("automation", "legacy", True),
        ("integrations", "legacy", True),
        ("support", "legacy", True),
    ]
    save_module_overrides(A, [], store=store_url)
    assert unified_modules(A, store=store_url) == []
    save_module_overrides(A, ["forms"], store=store_url)
    assert [(m.id, m.source) for m in unified_modules(A, store=store_url)] == [("forms", "legacy")]
    assert [m.id for m in unified_modules(B, store=store_url, legacy_defaults=["x"])] == ["x"]


def test_bad_arguments_are_clear(store_url: str) -> None:
    with pytest.raises(ReconcilerError) as info:
        save_module_overrides(A, "forms", store=store_url)
    assert (
        info.value.message
        == f"client {A}: modules_enabled must be a list of module ids, got 'forms'"
    )
    with pytest.raises(ReconcilerError) as info:
        save_module_overrides(A, ["forms"], theme_overrides={"x": object}, store=store_url)
    assert info.value.message.startswith(f"client {A}: theme_overrides is not JSON: ")


def test_store_from_the_environment(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    add_clients(store_url, [A])
    monkeypatch.setenv("RECONCILER_STORE", store_url)
    save_module_overrides(A, ["forms"])
    assert get_module_overrides(A, store=store_url)["modules_enabled"] == ["forms"]  # type: ignore[index]


def test_uninitialised_store(sqlite_store_bare: str) -> None:
    for call in (
        lambda: get_module_overrides(A, store=sqlite_store_bare),
        lambda: unified_modules(A, store=sqlite_store_bare),
        lambda: save_module_overrides(A, [], store=sqlite_store_bare),
    ):
        with pytest.raises(ReconcilerError) as info:
            call()
        assert (info.value.message, info.value.hint) == (
            "store not initialised",
            "run `reconciler init --store ...`",
        )


@pytest.mark.pg
def test_unknown_client_is_named(pg_store: str) -> None:
    store_url = pg_store
    with pytest.raises(ReconcilerError) as info:
        save_module_overrides(B, ["forms"], store=store_url)
    assert info.value.message == f"client {B} is not in the clients table"
    with pytest.raises(ReconcilerError) as info:
        get_module_overrides("acme", store=store_url)
    assert info.value.message == "client id 'acme' is not a valid UUID"
