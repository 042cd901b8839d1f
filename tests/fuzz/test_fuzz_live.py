"""Generated live states (as old code or a damaged database might hold them) never break
`status`, `drift`, `plan` or `import`: a result, or one clean `error:` naming what is wrong."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler.cli import run
from reconciler.live.cache import CACHE
from reconciler.live.engine import make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example
from tests.fuzz.strategies import legacy_rows, registry_rows
from tests.helpers import add_clients, run_sql

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ids = st.one_of(st.sampled_from(sorted(EXAMPLE_IDS.values())), st.uuids(version=4).map(str))
live_states = st.lists(
    st.tuples(ids, st.one_of(st.none(), legacy_rows), registry_rows),
    min_size=1,
    max_size=4,
    unique_by=lambda c: c[0],
)


def _reset(url: str) -> None:
    for table in ("reconciler_run_clients", "reconciler_runs", "reconciler_client_modules"):
        run_sql(url, f"DELETE FROM {table}")
    run_sql(url, "DELETE FROM client_app_overrides")
    CACHE.clear()


def _write(url: str, state: list[tuple[str, dict[str, Any] | None, dict[str, Any]]]) -> None:
    add_clients(url, [cid for cid, _, _ in state])
    now = datetime.now(UTC).isoformat()
    for cid, legacy, registry in state:
        if legacy is not None:
            columns = list(legacy)
            run_sql(
                url,
                f"INSERT INTO client_app_overrides (client_id, {', '.join(columns)}) "
                f"VALUES (%s{', %s' * len(columns)})",
                [cid, *(json.dumps(legacy[c]) for c in columns)],
            )
        for module_id, row in registry.items():
            run_sql(
                url,
                "INSERT INTO reconciler_client_modules "
                "(client_id, module_id, enabled, version, settings, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                [cid, module_id, row["enabled"], row["version"], json.dumps(row["settings"]), now],
            )


def _clean(argv: list[str], capsys: pytest.CaptureFixture[str]) -> int:
    capsys.readouterr()
    code = run(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, err)
    assert "Traceback" not in err
    assert "error: unexpected" not in err, (argv, err)
    if code == 1:
        assert any(line.startswith("error: ") for line in err.splitlines()), (argv, out, err)
    return code


def _walk(url: str, desired: Path, tmp: Path, cid: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = ["--store", url]
    fmt = ("text", "json", "markdown")[len(cid) % 3 if cid[0] < "8" else 1]  # vary cheaply
    _clean(["status", *store, "--dir", str(desired), "--format", fmt], capsys)
    _clean(["status", *store, "--client", cid, "--format", fmt], capsys)
    _clean(["drift", *store, "--dir", str(desired), "--format", fmt], capsys)
    _clean(["plan", *store, "--dir", str(desired), "--format", fmt], capsys)
    out = tmp / "imported"
    _clean(
        ["import", *store, "--dir", str(desired), "--out", str(out), "--force", "--format", "json"],
        capsys,
    )


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/live.db"
    init(make_engine(url))
    return url


@FUZZ
@given(state=live_states)
def test_generated_live_state_sqlite(
    sqlite_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], state: Any
) -> None:
    desired = tmp_path / "desired-state"
    if not desired.exists():
        copy_example(tmp_path)
    _reset(sqlite_store)
    _write(sqlite_store, state)
    _walk(sqlite_store, desired, tmp_path, state[0][0], capsys)


@pytest.mark.slow
@settings(FUZZ, max_examples=10)
@given(state=live_states)
def test_generated_live_state_postgresql(
    pg_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], state: Any
) -> None:
    desired = tmp_path / "desired-state"
    if not desired.exists():
        copy_example(tmp_path)
    assume("\\u0000" not in json.dumps(state))  # JSONB cannot hold NUL: old code cannot either
    _reset(pg_store)
    _write(pg_store, state)
    _walk(pg_store, desired, tmp_path, state[0][0], capsys)
