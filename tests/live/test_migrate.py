"""init: the legacy table is created only when missing, never altered; idempotent, race-safe."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy import text

from reconciler.compat import save_module_overrides
from reconciler.errors import ReconcilerError
from reconciler.live import migrate
from reconciler.live.engine import make_engine
from reconciler.live.legacy_ddl import create_legacy_table
from reconciler.live.migrate import (
    MIGRATIONS,
    SCHEMA_VERSION,
    init,
    require_initialised,
    run_init,
)
from tests.helpers import ORIGINAL_SQL, add_clients, has_table, raw_connect, run_sql

RECONCILER_TABLES = [
    "reconciler_client_modules",
    "reconciler_drift_state",
    "reconciler_modules",
    "reconciler_run_clients",
    "reconciler_runs",
    "reconciler_schema_version",
]
ROLLOUT_TABLES = ["reconciler_rollouts", "reconciler_rollout_runs", "reconciler_rollout_gates"]


def pg_legacy_catalog(url: str) -> dict[str, Any]:
    """Columns, defaults, indexes, constraints and triggers of client_app_overrides."""
    columns = run_sql(
        url,
        "SELECT column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'client_app_overrides' ORDER BY ordinal_position",
    )
    indexes = run_sql(
        url,
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = 'client_app_overrides' ORDER BY indexname",
    )
    constraints = run_sql(
        url,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'client_app_overrides'::regclass ORDER BY conname",
    )
    triggers = run_sql(
        url,
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE tgrelid = 'client_app_overrides'::regclass AND NOT tgisinternal ORDER BY tgname",
    )
    return {
        "columns": columns,
        "indexes": indexes,
        "constraints": constraints,
        "triggers": triggers,
    }


@pytest.mark.pg
def test_init_leaves_the_original_pg_table_untouched(pg_store_bare: str) -> None:
    url = pg_store_bare
    with raw_connect(url) as conn:
        conn.execute(ORIGINAL_SQL.read_text())
    before = pg_legacy_catalog(url)
    assert init(make_engine(url)) == SCHEMA_VERSION
    assert init(make_engine(url)) == SCHEMA_VERSION
    assert pg_legacy_catalog(url) == before
    assert [c[0] for c in before["columns"]] == [
        "id",
        "client_id",
        "modules_enabled",
        "theme_overrides",
        "consultation_config",
        "plan_catalog_overrides",
        "catalog_overrides",
        "created_at",
        "updated_at",
    ]
    # Write through the API; old code reads it back with its own plain SQL.
    client = "0ee6a19a-b01d-4773-8a91-d6023ddab802"
    add_clients(url, [client])
    save_module_overrides(client, ["forms", "support"], theme_overrides={"a": 1}, store=url)
    assert run_sql(
        url, "select modules_enabled from client_app_overrides where client_id = %s", [client]
    ) == [(["forms", "support"],)]
    created_at, updated_at = run_sql(
        url, "select created_at, updated_at from client_app_overrides"
    )[0]
    save_module_overrides(client, [], store=url)
    assert run_sql(
        url,
        "select modules_enabled, theme_overrides, created_at, updated_at > %s "
        "from client_app_overrides where client_id = %s",
        [updated_at, client],
    ) == [([], {"a": 1}, created_at, True)]  # the original trigger moved updated_at
    assert pg_legacy_catalog(url) == before
    assert before["triggers"] == [
        (
            "update_client_app_overrides_updated_at",
            "CREATE TRIGGER update_client_app_overrides_updated_at BEFORE UPDATE ON "
            f"{url.rsplit('%3D', 1)[1]}.client_app_overrides FOR EACH ROW EXECUTE FUNCTION "
            "update_updated_at_column()",
        )
    ]


@pytest.mark.pg
def test_init_creates_the_pg_table_like_the_original(pg_store_bare: str) -> None:
    url = pg_store_bare
    outcome = run_init(make_engine(url))
    assert outcome.created_legacy_table
    created = pg_legacy_catalog(url)
    assert [c[:3] for c in created["columns"]] == [
        ("id", "uuid", "NO"),
        ("client_id", "uuid", "NO"),
        ("modules_enabled", "jsonb", "NO"),
        ("theme_overrides", "jsonb", "YES"),
        ("consultation_config", "jsonb", "YES"),
        ("plan_catalog_overrides", "jsonb", "YES"),
        ("catalog_overrides", "jsonb", "YES"),
        ("created_at", "timestamp with time zone", "NO"),
        ("updated_at", "timestamp with time zone", "NO"),
    ]
    assert [c[3] for c in created["columns"]] == [
        "gen_random_uuid()",
        None,
        "'[]'::jsonb",
        "'{}'::jsonb",
        "'{}'::jsonb",
        "'{}'::jsonb",
        "'{}'::jsonb",
        "now()",
        "now()",
    ]
    assert [(name, "USING gin" in d, "UNIQUE" in d) for name, d in created["indexes"]] == [
        ("client_app_overrides_pkey", False, True),
        ("idx_client_app_overrides_catalog_overrides", True, False),
        ("idx_client_app_overrides_client_id", False, True),
        ("idx_client_app_overrides_modules_enabled", True, False),
    ]
    assert [name for name, _ in created["triggers"]] == ["client_app_overrides_set_updated_at"]
    assert init(make_engine(url)) == SCHEMA_VERSION
    assert pg_legacy_catalog(url) == created


def test_init_is_idempotent_and_records_the_version(store_url_bare: str) -> None:
    engine = make_engine(store_url_bare)
    first = run_init(engine)
    assert first.version == SCHEMA_VERSION
    assert first.created_legacy_table
    assert [v for v, _ in first.applied] == [v for v, _, _ in MIGRATIONS]
    second = run_init(engine)
    assert (second.version, second.created_legacy_table, second.applied) == (
        SCHEMA_VERSION,
        False,
        (),
    )
    assert run_sql(store_url_bare, "SELECT version FROM reconciler_schema_version") == [
        (SCHEMA_VERSION,)
    ]
    assert all(has_table(store_url_bare, name) for name in RECONCILER_TABLES)


def test_a_store_at_version_1_runs_only_the_later_steps_across_the_gap(
    store_url_bare: str,
) -> None:
    """Steps are numbered by the issue that adds them (1, then 5): a gap is fine."""
    engine = make_engine(store_url_bare)
    run_init(engine)
    run_sql(store_url_bare, "DROP TABLE reconciler_rollout_gates")
    run_sql(store_url_bare, "DROP TABLE reconciler_rollout_runs")
    run_sql(store_url_bare, "DROP TABLE reconciler_rollouts")
    run_sql(store_url_bare, "UPDATE reconciler_schema_version SET version = 1")
    with pytest.raises(ReconcilerError, match="older than"), engine.connect() as conn:
        require_initialised(conn)
    upgraded = run_init(engine)
    assert [v for v, _ in upgraded.applied] == [v for v, _, _ in MIGRATIONS if v > 1]
    assert all(has_table(store_url_bare, n) for n in ROLLOUT_TABLES)
    assert run_sql(store_url_bare, "SELECT count(*) FROM reconciler_rollouts") == [(0,)]


def test_sqlite_legacy_table_has_an_updated_at_trigger(sqlite_store_bare: str) -> None:
    store_url_bare = sqlite_store_bare
    init(make_engine(store_url_bare))
    run_sql(store_url_bare, "INSERT INTO client_app_overrides (client_id) VALUES ('c1')")
    run_sql(
        store_url_bare,
        "UPDATE client_app_overrides SET updated_at = '2000-01-01 00:00:00.000000', "
        "created_at = '2000-01-01 00:00:00.000000'",
    )
    run_sql(store_url_bare, "UPDATE client_app_overrides SET modules_enabled = '[\"forms\"]'")
    [(id_, created, updated, modules)] = run_sql(
        store_url_bare,
        "SELECT id, created_at, updated_at, modules_enabled FROM client_app_overrides",
    )
    assert len(id_) == 36
    assert created == "2000-01-01 00:00:00.000000"
    assert updated > created
    assert modules == '["forms"]'


def test_require_initialised_names_the_fix(store_url_bare: str) -> None:
    engine = make_engine(store_url_bare)
    with engine.connect() as conn, pytest.raises(ReconcilerError) as info:
        require_initialised(conn)
    assert (info.value.message, info.value.hint) == (
        "store not initialised",
        "run `reconciler init --store ...`",
    )
    init(engine)
    with engine.connect() as conn:
        assert require_initialised(conn) == SCHEMA_VERSION


def test_newer_schema_is_refused(store_url: str) -> None:
    run_sql(store_url, "UPDATE reconciler_schema_version SET version = 99")
    engine = make_engine(store_url)
    with pytest.raises(ReconcilerError, match="store schema version 99 is newer"):
        init(engine)
    with engine.connect() as conn, pytest.raises(ReconcilerError) as info:
        require_initialised(conn)
    assert (info.value.message, info.value.hint) == (
        f"store schema version 99 is newer than this reconciler supports ({SCHEMA_VERSION})",
        "upgrade module-reconciler",
    )


def test_concurrent_inits_from_two_processes(store_url_bare: str) -> None:
    code = (
        "import sys; from reconciler.live.engine import make_engine; "
        "from reconciler.live.migrate import init; print(init(make_engine(sys.argv[1])))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, store_url_bare],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [p.communicate(timeout=60) for p in procs]
    assert [(p.returncode, out, err) for p, (out, err) in zip(procs, results, strict=True)] == [
        (0, f"{SCHEMA_VERSION}\n", "")
    ] * 4
    assert run_sql(store_url_bare, "SELECT version FROM reconciler_schema_version") == [
        (SCHEMA_VERSION,)
    ]
    engine = make_engine(store_url_bare)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM client_app_overrides")).scalar() == 0


def test_migration_numbers_increase_and_may_leave_gaps() -> None:
    versions = [v for v, _, _ in MIGRATIONS]
    assert versions == sorted(set(versions))
    assert versions[0] == 1
    assert versions[-1] == SCHEMA_VERSION


def test_a_version_1_store_gets_the_later_steps_only(store_url_bare: str) -> None:
    """A store made by the first release (step 1 only) upgrades across the gap to step 4."""
    engine = make_engine(store_url_bare)
    with engine.begin() as conn:
        create_legacy_table(conn)
        migrate._v1(conn)
        conn.execute(text("INSERT INTO reconciler_schema_version (version) VALUES (1)"))
    assert not has_table(store_url_bare, "reconciler_drift_state")
    with engine.connect() as conn, pytest.raises(ReconcilerError, match="older than"):
        require_initialised(conn)
    outcome = run_init(engine)
    assert [v for v, _ in outcome.applied] == [v for v, _, _ in MIGRATIONS if v > 1]
    assert outcome.version == SCHEMA_VERSION
    assert has_table(store_url_bare, "reconciler_drift_state")
    assert run_sql(store_url_bare, "SELECT version FROM reconciler_schema_version") == [
        (SCHEMA_VERSION,)
    ]
