"""Planner statistics upkeep and keyed reads that stay on the index (issue 15).

A first apply grows `reconciler_client_modules` from nothing to millions of rows in one run.
PostgreSQL estimates `client_id IN (...)` from statistics gathered by ANALYZE; a server without
autovacuum (or one that has not caught up yet) keeps statistics from before the run, and the
planner then reads the whole growing table for every batch (quadratic). Two guards, neither
depending on autovacuum:

- `keyed_reads`: the per-batch reads by client id run with sequential scans disabled for their
  own statements (`set_config(..., true)`, restored after), so they use the primary key /
  unique index whatever the statistics say. A batch is at most 1,000 ids of a table keyed by
  client id: an index scan is always the right plan for it.
- `refresh_statistics`: ANALYZE the reconciler's own tables once their row count has moved
  from the planner's estimate (pg_class.reltuples) by more than autovacuum's default threshold
  (50 rows + 10 %); a writer calls it as the clients it wrote double, so the number of
  ANALYZEs grows with the log of the table, not with the run. Only the key columns are
  analyzed, from a small sample (`ANALYZE_TARGET`): what keyed plans need is the row count and
  the spread of client ids, while statistics of the JSON columns (sorting a 30,000-row sample
  of jsonb values) made a full ANALYZE cost a second at 90,000 rows. ANALYZE of some columns
  leaves the modification counter autovacuum goes by as it is, so a server that runs
  autovacuum still gathers full statistics when it would have. The legacy table is not the
  reconciler's: it is never analyzed (its unique index on client_id keeps its keyed reads
  exact anyway).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

# The reconciler's tables that grow with the fleet (client_app_overrides is never analyzed),
# with the columns keyed reads filter and join on.
GROWING_TABLES = {
    "reconciler_client_modules": ("client_id", "module_id"),
    "reconciler_run_clients": ("run_id", "client_id"),
}
ANALYZE_BASE_ROWS = 50  # autovacuum_analyze_threshold's default
ANALYZE_SCALE = 0.1  # autovacuum_analyze_scale_factor's default
ANALYZE_TARGET = 10  # statistics target of an upkeep ANALYZE: a sample of 3,000 rows


# Execution option of a connection whose whole transaction runs keyed (see keyed_transaction).
_KEYED = "reconciler_keyed_transaction"


def keyed_transaction(conn: Connection) -> None:
    """Disable sequential scans for the rest of the connection's transaction (PostgreSQL): an
    apply batch's statements are all keyed by client id (reads, UPDATE ... FROM, deletes), so
    one setting per transaction replaces two round trips per read in `keyed_reads`."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
    conn.execution_options(**{_KEYED: True})  # this Connection only: one transaction's


@contextmanager
def keyed_reads(conn: Connection) -> Iterator[None]:
    """Statements inside run with sequential scans disabled (PostgreSQL; a no-op elsewhere)."""
    if conn.dialect.name != "postgresql" or conn.get_execution_options().get(_KEYED):
        yield
        return
    before = conn.execute(
        text("SELECT current_setting('enable_seqscan'), set_config('enable_seqscan', 'off', true)")
    ).scalar_one()
    yield
    # Only on success: after an error the transaction (and its local setting) is rolled back.
    conn.execute(text("SELECT set_config('enable_seqscan', :v, true)"), {"v": before})


def stale_tables(conn: Connection) -> list[str]:
    """The growing tables whose live rows differ from the planner's estimate beyond the
    threshold."""
    rows = conn.execute(
        text(
            "SELECT s.relname, s.n_live_tup, GREATEST(c.reltuples, 0) "
            "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
            "WHERE s.schemaname = current_schema() AND s.relname = ANY(:names)"
        ),
        {"names": list(GROWING_TABLES)},
    )
    return sorted(
        str(name)
        for name, live, tuples in rows
        if abs(live - float(tuples)) > ANALYZE_BASE_ROWS + ANALYZE_SCALE * float(tuples)
    )


def refresh_statistics(engine: Engine) -> list[str]:
    """ANALYZE the growing tables whose statistics are stale (PostgreSQL); returns their names.

    Never fails a run: a role that may not ANALYZE (or a store gone away) is logged and the
    guard of `keyed_reads` remains."""
    if engine.dialect.name != "postgresql":
        return []
    started = time.perf_counter()
    try:
        with engine.begin() as conn:  # the sample size is set for this transaction only
            stale = stale_tables(conn)
            if stale:
                conn.execute(
                    text("SELECT set_config('default_statistics_target', :v, true)"),
                    {"v": str(ANALYZE_TARGET)},
                )
            for name in stale:
                columns = ", ".join(f'"{c}"' for c in GROWING_TABLES[name])
                conn.execute(text(f'ANALYZE "{name}" ({columns})'))
    except sa_exc.SQLAlchemyError as exc:
        log.info("statistics upkeep skipped: %s", type(exc).__name__)
        return []
    if stale:
        log.info(
            "statistics: analyzed %s in %.3f s", ", ".join(stale), time.perf_counter() - started
        )
    return stale
