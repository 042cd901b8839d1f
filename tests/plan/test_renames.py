"""Renamed modules (issue 13): the legacy list's old id is read as the new module in the unified
view, the targets and the diff; a rename of the legacy entry is one change."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import (
    ClientDesired,
    ClientLive,
    DesiredModule,
    LegacyRow,
    ModuleDef,
    RegistryModule,
    read_legacy_list,
    rename_map,
)
from reconciler.plan.build import plan_client
from reconciler.plan.drift import DriftClass, classify
from reconciler.plan.model import ABSENT, ChangeKind, summarize
from reconciler.plan.target import build_target, module_states
from reconciler.plan.unified import unify

DEFAULTS = ("analytics", "automation", "integrations", "support")
CID = "0ee6a19a-b01d-4773-8a91-d6023ddab802"
RENAMES = {"analytics-legacy": "analytics"}


def live(*modules: str, registry: dict[str, RegistryModule] | None = None) -> ClientLive:
    return ClientLive(
        client_id=CID, legacy=LegacyRow(modules_enabled=modules), registry=registry or {}
    )


def desired(strategy: str = "merge", **modules: DesiredModule) -> ClientDesired:
    return ClientDesired(client_id=CID, strategy=strategy, modules=modules)  # type: ignore[arg-type]


def plan(d: ClientDesired, lv: ClientLive, *, adopt_only: bool = False, renames=RENAMES):
    return plan_client(
        d, lv, legacy_defaults=DEFAULTS, sensitive={}, adopt_only=adopt_only, renames=renames
    )


def changes(p) -> list[tuple]:
    return [(c.module, str(c.kind), c.old, c.new, tuple(sorted(c.stores))) for c in p.changes]


def test_rename_map_from_the_catalog() -> None:
    catalog = [
        ModuleDef(id="analytics", name="A", version="1.0.0", replaces=("analytics-legacy", "a1")),
        ModuleDef(id="forms", name="F", version="1.0.0"),
    ]
    assert rename_map(catalog) == {"analytics-legacy": "analytics", "a1": "analytics"}


def test_read_legacy_list_keeps_order_and_the_first_place_of_a_twice_listed_module() -> None:
    assert read_legacy_list(["forms", "analytics-legacy", "support"], RENAMES) == (
        "forms",
        "analytics",
        "support",
    )
    assert read_legacy_list(["analytics", "forms", "analytics-legacy"], RENAMES) == (
        "analytics",
        "forms",
    )
    assert read_legacy_list(["b", "a", "b"], {}) == ("b", "a", "b")  # no renames: as stored


def test_unified_view_reads_the_old_id_as_the_new_module() -> None:
    [module] = unify(live("analytics-legacy"), DEFAULTS, RENAMES)
    assert (module.id, module.enabled, module.source) == ("analytics", True, "legacy")
    registry = {"analytics": RegistryModule(enabled=True, version="2.3.1")}
    [module] = unify(live("analytics-legacy", registry=registry), DEFAULTS, RENAMES)
    assert (module.id, module.source, module.conflicts) == ("analytics", "unified", ())
    # Without renames (callers that do not know the catalog): today's behaviour.
    assert [m.id for m in unify(live("analytics-legacy"), DEFAULTS)] == ["analytics-legacy"]


def test_no_row_reads_renamed_legacy_defaults() -> None:
    no_row = ClientLive(client_id=CID)
    assert [m.id for m in unify(no_row, ("analytics-legacy", "forms"), RENAMES)] == [
        "analytics",
        "forms",
    ]


def test_a_rename_is_one_change_written_in_place() -> None:
    p = plan(desired(), live("forms", "analytics-legacy", "support"))
    assert changes(p) == [("analytics", "rename", "analytics-legacy", "analytics", ("legacy",))]
    assert p.target is not None
    assert p.target.legacy is not None
    assert p.target.legacy.modules_enabled == ("forms", "analytics", "support")
    assert p.target.registry == {}
    assert summarize([p], 0).renamed == 1
    assert p.changes[0].to_json()["kind"] == "rename"
    assert p.changes[0].to_json()["op"] == "change"


def test_a_rename_with_desired_listing_the_new_module_adopts_it_too() -> None:
    d = desired(analytics=DesiredModule(version="2.3.1"))
    p = plan(d, live("analytics-legacy"))
    assert changes(p) == [
        ("analytics", "adopt", ABSENT, "2.3.1", ("registry",)),
        ("analytics", "rename", "analytics-legacy", "analytics", ("legacy",)),
    ]
    replanned = plan(d, p.target)
    assert replanned.changes == ()


def test_disabling_the_renamed_module_is_a_disable_not_a_rename() -> None:
    p = plan(desired(analytics=DesiredModule(enabled=False)), live("analytics-legacy", "forms"))
    assert changes(p) == [("analytics", "disable", True, False, ("legacy",))]
    assert p.target.legacy.modules_enabled == ("forms",)


def test_an_old_and_new_id_both_listed_become_one_entry() -> None:
    p = plan(desired(), live("analytics", "forms", "analytics-legacy"))
    assert changes(p) == [("analytics", "rename", "analytics-legacy", "analytics", ("legacy",))]
    assert p.target.legacy.modules_enabled == ("analytics", "forms")


def test_enabling_another_module_keeps_the_renamed_list_order() -> None:
    p = plan(desired(documents=DesiredModule(version="1.1.3")), live("support", "analytics-legacy"))
    assert [c[1] for c in changes(p)] == ["rename", "enable", "version"]
    assert p.target.legacy.modules_enabled == ("support", "analytics", "documents")


def test_preserve_keeps_the_old_id_and_shows_the_rename_as_informational() -> None:
    p = plan(desired("preserve"), live("analytics-legacy"))
    assert not p.writes
    assert [(c.kind, c.informational) for c in p.changes] == [(ChangeKind.RENAME, True)]


def test_no_row_with_renamed_defaults_stays_without_a_row() -> None:
    no_row = ClientLive(client_id=CID)
    target = build_target(desired(), no_row, ("analytics-legacy",), renames=RENAMES)
    assert target.legacy is None


def test_adopt_only_keeps_renames_and_adoptions_only() -> None:
    d = desired(analytics=DesiredModule(version="2.3.1"), documents=DesiredModule(version="1.1.3"))
    p = plan(d, live("analytics-legacy", "forms"), adopt_only=True)
    assert [c[1] for c in changes(p)] == ["adopt", "rename"]
    assert p.target.legacy.modules_enabled == ("analytics", "forms")
    assert set(p.target.registry) == {"analytics"}


def test_module_states_without_renames_are_unchanged() -> None:
    assert set(module_states(live("analytics-legacy"), DEFAULTS)) == {"analytics-legacy"}
    assert set(module_states(live("analytics-legacy"), DEFAULTS, RENAMES)) == {"analytics"}


def test_drift_reads_old_and_new_ids_as_the_same_module() -> None:
    written = live("analytics", "forms")
    back = live("analytics-legacy", "forms")  # old code wrote the old id back
    result = classify(
        desired(), back, (1, written), legacy_defaults=DEFAULTS, sensitive={}, renames=RENAMES
    )
    assert DriftClass.DRIFTED not in result.classes
    plain = classify(desired(), back, (1, written), legacy_defaults=DEFAULTS, sensitive={})
    assert DriftClass.DRIFTED in plain.classes


ids = st.sampled_from(["analytics", "analytics-legacy", "forms", "support", "documents"])


@settings(max_examples=150, deadline=None)
@given(
    listed=st.lists(ids, max_size=5),
    wanted=st.dictionaries(ids.filter(lambda m: m != "analytics-legacy"), st.booleans()),
    strategy=st.sampled_from(["merge", "replace"]),
)
def test_apply_then_replan_is_empty_and_never_lists_the_old_id(
    listed: list[str], wanted: dict[str, bool], strategy: str
) -> None:
    d = desired(
        strategy, **{m: DesiredModule(enabled=on, version="1.0.0") for m, on in wanted.items()}
    )
    p = plan(d, live(*listed))
    assert plan(d, p.target).changes == ()
    assert "analytics-legacy" not in p.target.legacy.modules_enabled
    kinds = [c.kind for c in p.changes if c.module == "analytics"]
    assert not (ChangeKind.ENABLE in kinds and ChangeKind.RENAME in kinds)
    assert not (ChangeKind.DISABLE in kinds and ChangeKind.RENAME in kinds)
