"""Demo live state: the example clients, re-seeding resets them."""

from __future__ import annotations

from reconciler.live.demo import (
    ACME_DENTAL,
    BRIGHT_SMILES,
    DEMO_LIVE,
    NORTHWIND_CLINIC,
    seed_demo,
)
from reconciler.live.engine import make_engine
from reconciler.live.state import read_live
from reconciler.model import ORIGINAL_LEGACY_DEFAULTS
from reconciler.plan.unified import unify
from tests.helpers import add_clients, run_sql


def test_seed_and_reseed(store_url: str) -> None:
    ids = [live.client_id for live in DEMO_LIVE]
    add_clients(store_url, ids)
    engine = make_engine(store_url)
    assert seed_demo(engine) == tuple(ids)
    run_sql(store_url, "DELETE FROM reconciler_client_modules")
    run_sql(store_url, "UPDATE client_app_overrides SET modules_enabled = '[]'")
    seed_demo(engine)
    with engine.connect() as conn:
        live = read_live(conn)
    assert live == {c.client_id: c for c in DEMO_LIVE}
    assert live[ACME_DENTAL].legacy is None
    bright = live[BRIGHT_SMILES].legacy
    assert bright is not None
    assert bright.modules_enabled == ()
    conflicts = [
        m.id for m in unify(live[NORTHWIND_CLINIC], ORIGINAL_LEGACY_DEFAULTS) if m.conflicts
    ]
    assert conflicts == ["consultation", "email-integration"]
