"""Keyed reads stay on the index whatever the statistics say, and the tool keeps the statistics
of its own growing tables without autovacuum (issue 15). PostgreSQL only."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, Select, insert, select, text

from reconciler.live.engine import make_engine
from reconciler.live.ids import keyed
from reconciler.live.registry import read_registry
from reconciler.live.stats import keyed_reads, refresh_statistics, stale_tables
from reconciler.live.tables import reconciler_client_modules as rows_table

CLIENTS = [str(uuid.UUID(int=i)) for i in range(1, 1501)]


def _fill(url: str) -> None:
    engine = make_engine(url)
    rows = [
        {"client_id": c, "module_id": f"m{j:02d}", "enabled": True, "version": "1", "settings": {}}
        for c in CLIENTS
        for j in range(40)
    ]
    with engine.begin() as conn:
        conn.execute(insert(rows_table), rows)
        conn.execute(text("SELECT pg_stat_force_next_flush()"))  # counters visible at commit


def _analyze_empty_then_fill(url: str) -> None:
    """Statistics taken while the table was empty, then 60,000 rows: the first apply's case."""
    with make_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE reconciler_client_modules"))
    _fill(url)


def _plan(conn: Connection, query: Select[Any], *, literal: bool = False) -> str:
    """EXPLAIN of the query as this connection sends it (bound parameters, or inlined)."""
    if literal:
        compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
        return "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())
    compiled = query.compile(conn)
    return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))


def test_keyed_read_uses_the_index_under_stale_statistics(pg_store: str) -> None:
    _analyze_empty_then_fill(pg_store)
    batch = CLIENTS[700:900]
    with make_engine(pg_store).connect() as conn:
        plain = select(rows_table.c.module_id).where(rows_table.c.client_id.in_(batch))
        assert "Seq Scan" in _plan(conn, plain, literal=True)  # the failure mode, reproduced
        with keyed_reads(conn):
            shaped = select(rows_table.c.module_id).where(
                keyed(rows_table.c.client_id, batch, conn)
            )
            guarded = _plan(conn, shaped)
        after = conn.execute(text("SELECT current_setting('enable_seqscan')")).scalar_one()
        rows = read_registry(conn, batch)
    assert "Seq Scan" not in guarded
    assert "reconciler_client_modules_pkey" in guarded
    assert after == "on"  # restored for the rest of the transaction
    assert sorted(rows) == sorted(batch)
    assert all(len(modules) == 40 for modules in rows.values())


def test_refresh_statistics_analyzes_grown_tables_only_when_stale(pg_store: str) -> None:
    _analyze_empty_then_fill(pg_store)
    engine = make_engine(pg_store)
    analyzed = refresh_statistics(engine)
    with engine.connect() as conn:
        tuples = conn.execute(
            text("SELECT reltuples FROM pg_class WHERE relname = 'reconciler_client_modules'")
        ).scalar_one()
        again = stale_tables(conn)
    assert analyzed == ["reconciler_client_modules"]
    assert tuples == 60_000
    assert again == []
    assert refresh_statistics(engine) == []


def test_a_run_checks_statistics_as_the_clients_written_double(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_jobs asks for fresh statistics at 1k, 2k, 4k... clients written (here 2, 4, ...):
    a log of the run's size, never once per batch (refresh_statistics itself: above)."""
    from reconciler import api
    from reconciler.apply import transaction
    from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example
    from tests.helpers import add_clients

    checked: list[list[str]] = []

    def spy(engine: Engine) -> list[str]:
        checked.append(refresh_statistics(engine))
        return checked[-1]

    monkeypatch.setattr(transaction, "STATISTICS_CHECK", 2)
    monkeypatch.setattr(transaction, "BATCH_SIZE", 2)
    monkeypatch.setattr(transaction, "refresh_statistics", spy)
    add_clients(store_url, EXAMPLE_IDS.values())
    desired = str(copy_example(tmp_path))
    report = api.apply(store_url, api.plan(store_url, desired))
    assert report.counts["applied"] == 5
    assert len(checked) == 2  # after 2 written (next at 4), after 4 (next at 8); not at 5
