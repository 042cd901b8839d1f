"""Apply, stale refusal, safety refusals and history on real SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from reconciler import api
from reconciler.errors import UnsafePlan
from reconciler.model import DesiredModule
from reconciler.results import RunMeta
from tests.apply.engine_helpers import IDS, client, make_plan, settings
from tests.helpers import add_clients, legacy_rows, registry_rows, run_sql

META = RunMeta(actor="tester", command="pytest", reason="test")
A, B, C = IDS


def dump(url: str) -> tuple[list, list, list]:
    """Everything the stores hold, for byte-for-byte comparisons."""
    runs = run_sql(url, "SELECT id, kind, status FROM reconciler_runs ORDER BY id")
    return legacy_rows(url), registry_rows(url), runs


def seed_legacy(url: str, cid: str, modules: str, theme: str = "{}") -> None:
    add_clients(url, [cid])
    run_sql(
        url,
        "INSERT INTO client_app_overrides (id, client_id, modules_enabled, theme_overrides) "
        "VALUES (%s, %s, %s, %s)",
        ["aaaaaaaa" + cid[8:], cid, modules, theme],
    )


def test_apply_creates_rows_and_second_plan_is_empty(store_url: str) -> None:
    add_clients(store_url, IDS)
    desired = [
        client(A, forms=DesiredModule(version="1.2.0", settings={"max": 3})),
        client(B, overrides={"theme": {"primary": "#0af"}}),
    ]
    report = api.apply(store_url, make_plan(store_url, desired), meta=META)
    assert report.ok
    assert report.counts == {"applied": 2, "unchanged": 0, "stale": 0, "failed": 0}
    rows = {r["client_id"]: r for r in legacy_rows(store_url)}
    assert rows[A]["modules_enabled"] == [
        "analytics",
        "automation",
        "forms",
        "integrations",
        "support",
    ]
    assert rows[A]["theme_overrides"] == {}
    assert rows[B]["modules_enabled"] == ["analytics", "automation", "integrations", "support"]
    assert rows[B]["theme_overrides"] == {"primary": "#0af"}
    assert registry_rows(store_url) == [
        {
            "client_id": A,
            "module_id": "forms",
            "enabled": True,
            "version": "1.2.0",
            "settings": {"max": 3},
        }
    ]
    assert make_plan(store_url, desired).clients == ()
    runs = api.history(store_url)
    assert [(r.id, r.kind, r.status, r.clients, r.actor, r.reason) for r in runs] == [
        (report.run_id, "apply", "done", 2, "tester", "test")
    ]
    detail = api.history_show(store_url, report.run_id)
    assert [(s.client_id, s.before.legacy) for s in detail.snapshots] == [(A, None), (B, None)]


def test_empty_list_row_stays_distinct_from_no_row(store_url: str) -> None:
    seed_legacy(store_url, A, "[]")
    report = api.apply(store_url, make_plan(store_url, [client(A), client(B)]), meta=META)
    assert report.run_id is None  # nothing to do: [] means no modules, no row means defaults
    assert [r["modules_enabled"] for r in legacy_rows(store_url)] == [[]]


def test_stale_client_refused_others_applied(store_url: str) -> None:
    add_clients(store_url, IDS)
    for cid in IDS:
        seed_legacy(store_url, cid, '["support"]')
    desired = [client(cid, forms=DesiredModule(version="1.2.0")) for cid in IDS]
    planned = make_plan(store_url, desired)
    assert len(planned.clients) == 3
    # Old application code changes B between plan and apply.
    run_sql(
        store_url,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["support", "documents"]', B],
    )
    before_b = [r for r in legacy_rows(store_url) if r["client_id"] == B]
    report = api.apply(store_url, planned, meta=META)
    assert {r.client_id: r.outcome for r in report.results} == {
        A: "applied",
        B: "stale",
        C: "applied",
    }
    assert not report.ok
    assert [r for r in legacy_rows(store_url) if r["client_id"] == B] == before_b
    assert [r["client_id"] for r in registry_rows(store_url)] == [A, C]
    detail = api.history_show(store_url, report.run_id)
    assert [s.client_id for s in detail.snapshots] == [A, C]
    assert api.history(store_url)[0].status == "partial"


def test_disable_threshold_refuses_before_any_write(store_url: str) -> None:
    seed_legacy(store_url, A, '["forms", "documents", "analytics"]')
    before = dump(store_url)
    planned = make_plan(
        store_url,
        [client(A, "replace", forms=DesiredModule(version="1.2.0"))],
        settings(max_disable_share=0.5),
    )
    with pytest.raises(UnsafePlan) as raised:
        api.apply(store_url, planned, meta=META)
    assert [str(p) for p in raised.value.problems] == [
        f"clients/{A[:4]}.yaml: $.modules: client {A}: would disable 2 of 3 enabled modules (67%), limit is 50%"
    ]
    assert dump(store_url) == before
    forced = api.apply(store_url, planned, force=True, meta=META)
    assert forced.ok
    assert legacy_rows(store_url)[0]["modules_enabled"] == ["forms"]


def test_protected_module_and_client_limit_refuse(store_url: str) -> None:
    seed_legacy(store_url, A, '["support", "forms"]')
    add_clients(store_url, IDS)
    before = dump(store_url)
    desired = [
        client(A, forms=DesiredModule(version="1.2.0"), support=DesiredModule(enabled=False)),
        client(B, forms=DesiredModule(version="1.2.0")),
    ]
    planned = make_plan(store_url, desired, settings(max_clients_changed=1, max_disable_share=1.0))
    with pytest.raises(UnsafePlan) as raised:
        api.apply(store_url, planned, meta=META)
    assert sorted(str(p) for p in raised.value.problems) == sorted(
        [
            "reconciler.yaml: $.safety.max_clients_changed: 2 clients would change, limit is 1",
            f"clients/{A[:4]}.yaml: $.modules.support: client {A}: would disable protected module support",
        ]
    )
    assert dump(store_url) == before


def test_one_bad_client_in_a_batch_is_isolated(store_url: str) -> None:
    """A client missing from the original `clients` table fails by name; the batch's others apply."""
    add_clients(store_url, [A, C])  # B is not a known client on PostgreSQL
    desired = [client(cid, forms=DesiredModule(version="1.2.0")) for cid in IDS]
    report = api.apply(store_url, make_plan(store_url, desired), meta=META)
    outcomes = {r.client_id: (r.outcome, r.message) for r in report.results}
    if store_url.startswith("postgresql"):
        assert outcomes[B] == (
            "failed",
            f"client {B} is not in the clients table (client_app_overrides.client_id references clients(id); create the client in the application first, or correct client_id)",
        )
        assert [r["client_id"] for r in legacy_rows(store_url)] == [A, C]
    else:  # SQLite stores created by `init` have no clients table
        assert outcomes[B] == ("applied", "")
    assert (outcomes[A], outcomes[C]) == (("applied", ""), ("applied", ""))
    assert [s.client_id for s in api.history_show(store_url, report.run_id).snapshots] == sorted(
        cid for cid, (outcome, _) in outcomes.items() if outcome == "applied"
    )
