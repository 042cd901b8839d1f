"""Import adopts the live state faithfully (issue 13): over random live states of both stores,
every module enabled in either store is written into the client file (or, when no listing can
pass a catalog rule, reported), the plan right after is adoption only, and `--adopt-only`
unifies the stores with no behaviour change and leaves nothing to plan."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import api
from reconciler.live.engine import make_engine
from reconciler.live.locks import client_transaction
from reconciler.live.state import read_live, write_live
from reconciler.model import ClientLive, LegacyRow, RegistryModule
from reconciler.plan.unified import unify
from tests.cli.cli_helpers import copy_example
from tests.helpers import add_clients

CATALOG = {  # the bundled example's modules and versions
    "analytics": "2.3.1", "analytics-basic": "1.0.4", "automation": "1.8.0",
    "consultation": "2.0.1", "consultation-generator": "0.9.2", "documents": "1.1.3",
    "email-integration": "1.3.0", "forms": "1.5.0", "integrations": "3.1.2",
    "questionnaire-engine": "1.4.0", "support": "1.2.0", "theme-customizer": "1.0.0",
}  # fmt: skip
IDS = sorted(CATALOG)

registry_row = st.builds(
    RegistryModule,
    enabled=st.booleans(),
    version=st.one_of(st.none(), st.sampled_from(["0.1.0"]), st.just("CATALOG")),
)
live_states = st.fixed_dictionaries(
    {
        # None: no legacy row (the legacy defaults apply); [] means no modules at all.
        "legacy": st.one_of(st.none(), st.lists(st.sampled_from(IDS), unique=True, max_size=5)),
        "registry": st.dictionaries(st.sampled_from(IDS), registry_row, max_size=4),
        "theme": st.one_of(st.none(), st.just({}), st.just({"primary_color": "#123456"})),
    }
)


def _live(client_id: str, drawn: dict) -> ClientLive:
    legacy = None
    if drawn["legacy"] is not None:
        legacy = LegacyRow(modules_enabled=tuple(drawn["legacy"]), theme_overrides=drawn["theme"])
    registry = {
        m: RegistryModule(
            enabled=row.enabled, version=CATALOG[m] if row.version == "CATALOG" else row.version
        )
        for m, row in drawn["registry"].items()
    }
    return ClientLive(client_id=client_id, legacy=legacy, registry=registry)


@pytest.fixture
def desired(tmp_path: Path) -> Path:
    tree = copy_example(tmp_path)
    for path in (tree / "clients").glob("*.yaml"):
        path.unlink()
    return tree


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=live_states)
def test_import_then_adopt_only_unifies_without_behaviour_change(
    store_url: str, desired: Path, drawn: dict
) -> None:
    cid = str(uuid.uuid4())
    add_clients(store_url, [cid])
    engine = make_engine(store_url)
    with client_transaction(engine, cid) as conn:
        write_live(conn, _live(cid, drawn))
    with engine.connect() as conn:
        before = read_live(conn, [cid])[cid]
    defaults = ("analytics", "automation", "integrations", "support")

    report = api.import_state(store_url, str(desired), client_ids=[cid])
    (client,) = report.clients
    if client.status == "failed":  # the live state breaks the catalog beyond any file: said
        assert client.error
        return
    handled = {m.id: m for m in client.modules}
    for module in unify(before, defaults):
        if module.enabled and module.id in CATALOG:
            # Written into the file, or left out only with the reason reported.
            assert handled[module.id].handling != "omit" or handled[module.id].conflicts
        if module.enabled and module.source == "legacy" and module.id in CATALOG:
            # Only the legacy list has it: listed as it is, for the registry to adopt, unless
            # a catalog rule (dependency, conflict) refuses the live state itself.
            reasons = handled[module.id].conflicts
            assert handled[module.id].handling == "listed" or any(
                "(in the live state)" in r for r in reasons
            ), handled[module.id]

    planned = api.plan(store_url, str(desired), client_ids=[cid])
    written = [c for p in planned.clients for c in p.changes if not c.informational]
    assert {str(c.kind) for c in written} <= {"adopt"}
    assert all(c.stores == frozenset({"registry"}) for c in written)

    api.apply(store_url, api.plan(store_url, str(desired), client_ids=[cid], adopt_only=True))
    with engine.connect() as conn:
        after = read_live(conn, [cid])[cid]
    assert after.legacy == before.legacy  # the legacy row is untouched
    enabled = {m.id: m.enabled for m in unify(after, defaults)}
    assert enabled == {m.id: m.enabled for m in unify(before, defaults)}  # no behaviour change
    assert not api.plan(store_url, str(desired), client_ids=[cid]).has_changes
    for module in unify(after, defaults):
        if module.enabled and handled.get(module.id) and handled[module.id].handling == "listed":
            assert module.source == "unified", module
