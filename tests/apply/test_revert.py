"""Revert from a new process restores whole rows; a revert is itself revertible."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import api
from reconciler.live.engine import make_engine
from reconciler.live.state import read_live, write_live
from reconciler.model import ClientLive, DesiredModule, LegacyRow, RegistryModule
from reconciler.results import RunMeta
from tests.apply.engine_helpers import IDS, client, make_plan
from tests.apply.engine_helpers import settings as cfg
from tests.helpers import add_clients, legacy_rows, registry_rows, run_sql

META = RunMeta(actor="tester", command="pytest")
A, B, C = IDS


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a fresh process, as a later CI job or operator would run it."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
        timeout=120,
    )


def data(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "updated_at"} for r in rows]


def columns(rows: list[dict]) -> list[dict]:
    return [
        {k: v for k, v in r.items() if k not in ("id", "created_at", "updated_at")} for r in rows
    ]


def test_revert_from_new_process_restores_whole_rows(store_url: str) -> None:
    add_clients(store_url, IDS)
    run_sql(
        store_url,
        "INSERT INTO client_app_overrides (id, client_id, modules_enabled, theme_overrides) VALUES (%s, %s, %s, %s)",
        ["aaaaaaaa" + A[8:], A, '["support", "forms"]', '{"bg": "#fff"}'],
    )
    before_legacy, before_registry = data(legacy_rows(store_url)), registry_rows(store_url)
    desired = [
        client(
            A,
            "replace",
            overrides={"theme": {"bg": "#000"}},
            documents=DesiredModule(version="2.0.0", settings={"a": 1}),
            support=DesiredModule(),
        ),
        client(B, forms=DesiredModule(version="1.2.0")),
    ]
    applied = api.apply(
        store_url, make_plan(store_url, desired, cfg(max_disable_share=1.0)), meta=META
    )
    assert applied.counts["applied"] == 2
    after_legacy, after_registry = data(legacy_rows(store_url)), registry_rows(store_url)
    assert after_legacy != before_legacy

    result = cli("revert", str(applied.run_id), "--yes", "--store", store_url, "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kind"] == "revert"
    assert report["counts"] == {"applied": 2, "unchanged": 0, "stale": 0, "failed": 0}
    # Whole rows: id and created_at kept, the row B did not have is gone again.
    assert data(legacy_rows(store_url)) == before_legacy
    assert registry_rows(store_url) == before_registry

    again = cli("revert", str(report["run_id"]), "--yes", "--store", store_url)
    assert again.returncode == 0, again.stderr
    # B's row is created anew by the revert of the revert: same data, a new id.
    assert columns(legacy_rows(store_url)) == columns(after_legacy)
    assert data(legacy_rows(store_url))[0] == after_legacy[0]
    assert registry_rows(store_url) == after_registry
    kinds = [(r.kind, r.reverts_run) for r in api.history(store_url)]
    assert kinds == [("revert", report["run_id"]), ("revert", applied.run_id), ("apply", None)]


def test_revert_refuses_client_changed_since_unless_forced(store_url: str) -> None:
    add_clients(store_url, IDS)
    applied = api.apply(
        store_url,
        make_plan(store_url, [client(A, forms=DesiredModule(version="1.2.0"))]),
        meta=META,
    )
    run_sql(
        store_url,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["forms"]', A],
    )
    changed = legacy_rows(store_url)
    result = cli("revert", str(applied.run_id), "--yes", "--store", store_url)
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"stale     {A}  client {A}: live state changed since the plan (stale)"
    )
    assert (
        f"error: client {A}: live state changed since the plan (stale) (live state changed since run {applied.run_id}; rerun with --force to overwrite it)"
        in result.stderr
    )
    assert legacy_rows(store_url) == changed
    forced = cli("revert", str(applied.run_id), "--yes", "--force", "--store", store_url)
    assert forced.returncode == 0, forced.stderr
    assert legacy_rows(store_url) == []


def test_revert_unknown_run_is_a_clear_error(store_url: str) -> None:
    result = cli("revert", "999", "--yes", "--store", store_url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == "error: run 999 not found\nhint: list runs with `reconciler history`\n"


# ---- property: apply -> plan empty; apply -> revert -> original -------------------------

MODULES = ["forms", "documents", "support", "analytics"]
small = st.dictionaries(
    st.sampled_from("xy"),
    st.one_of(st.integers(0, 2), st.dictionaries(st.just("z"), st.integers(0, 2), max_size=1)),
    max_size=2,
)
live_state = st.builds(
    ClientLive,
    client_id=st.just(A),
    legacy=st.one_of(
        st.none(),
        st.builds(
            LegacyRow,
            modules_enabled=st.lists(st.sampled_from(MODULES), unique=True).map(tuple),
            theme_overrides=st.one_of(st.just({}), small),
            consultation_config=st.just({}),
            plan_catalog_overrides=st.just({}),
            catalog_overrides=st.just({}),
        ),
    ),
    registry=st.dictionaries(
        st.sampled_from(MODULES),
        st.builds(
            RegistryModule,
            enabled=st.booleans(),
            version=st.sampled_from(["1.0.0", None]),
            settings=small,
        ),
        max_size=3,
    ),
)
desired_state = st.builds(
    client,
    cid=st.just(A),
    strategy=st.sampled_from(["merge", "replace", "preserve"]),
    overrides=st.one_of(st.none(), st.builds(lambda t: {"theme": t}, small)),
    forms=st.builds(DesiredModule, enabled=st.booleans(), version=st.just("1.2.0"), settings=small),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(live=live_state, desired=desired_state)
def test_property_apply_replan_empty_and_revert_restores(
    store_url: str, live: ClientLive, desired
) -> None:
    add_clients(store_url, [A])
    run_sql(store_url, "DELETE FROM reconciler_run_clients")
    engine = make_engine(store_url)
    with engine.begin() as conn:
        write_live(conn, live)
        original = read_live(conn, [A])[A]
    planned = make_plan(store_url, [desired], cfg(max_disable_share=1.0))
    report = api.apply(store_url, planned, meta=META, force=True)
    assert report.ok
    assert not any(c.writes for c in make_plan(store_url, [desired], cfg()).clients)
    if report.run_id is not None and report.counts["applied"]:
        reverted = api.revert(store_url, report.run_id, meta=META)
        assert reverted.ok
    with engine.connect() as conn:
        assert read_live(conn, [A])[A] == original
