"""Strategies, targets and diffs on hand-built states, plus round-trip properties."""

from __future__ import annotations

import dataclasses
import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import ClientDesired, ClientLive, DesiredModule, LegacyRow, RegistryModule
from reconciler.plan.build import plan_client
from reconciler.plan.diff import REGISTRY
from reconciler.plan.model import ABSENT, Change, ChangeKind, new_change, summarize
from reconciler.plan.target import build_target

DEFAULTS = ("analytics", "automation", "integrations", "support")
CID = "0ee6a19a-b01d-4773-8a91-d6023ddab802"


def desired(
    strategy: str = "merge", overrides: dict | None = None, **modules: DesiredModule
) -> ClientDesired:
    return ClientDesired(
        client_id=CID,
        strategy=strategy,
        modules=modules,
        overrides=overrides or {},  # type: ignore[arg-type]
    )


def plan(d: ClientDesired, live: ClientLive, sensitive: dict | None = None):
    return plan_client(d, live, legacy_defaults=DEFAULTS, sensitive=sensitive or {})


def summary(p) -> list[tuple]:
    return [
        (c.module, str(c.kind), c.path, c.old, c.new, tuple(sorted(c.stores)), c.informational)
        for c in p.changes
    ]


def test_no_row_merge_adding_a_module_creates_row_with_defaults_plus_it() -> None:
    live = ClientLive(client_id=CID)
    p = plan(desired(forms=DesiredModule(version="1.0.0", settings={"max": 3})), live)
    assert p.target == ClientLive(
        client_id=CID,
        legacy=LegacyRow(
            modules_enabled=("analytics", "automation", "forms", "integrations", "support"),
            theme_overrides={},
            consultation_config={},
            plan_catalog_overrides={},
            catalog_overrides={},
        ),
        registry={"forms": RegistryModule(enabled=True, version="1.0.0", settings={"max": 3})},
    )
    assert summary(p) == [
        ("forms", "enable", (), False, True, ("legacy", "registry"), False),
        ("forms", "setting", ("max",), ABSENT, 3, ("registry",), False),
        ("forms", "version", (), None, "1.0.0", ("registry",), False),
    ]


def test_empty_list_row_is_not_defaults() -> None:
    live = ClientLive(client_id=CID, legacy=LegacyRow(modules_enabled=()))
    p = plan(desired(), live)
    assert p.changes == ()
    assert p.target == live


def test_replace_disables_unlisted_and_removes_settings_keys() -> None:
    live = ClientLive(
        client_id=CID,
        legacy=LegacyRow(modules_enabled=("forms", "support"), theme_overrides={"a": 1}),
        registry={
            "forms": RegistryModule(enabled=True, version="1.0.0", settings={"max": 3, "old": 1})
        },
    )
    d = desired("replace", forms=DesiredModule(version="1.1.0", settings={"max": 4}))
    p = plan(d, live)
    assert p.target == ClientLive(
        client_id=CID,
        legacy=LegacyRow(modules_enabled=("forms",), theme_overrides={}),
        registry={"forms": RegistryModule(enabled=True, version="1.1.0", settings={"max": 4})},
    )
    assert summary(p) == [
        ("forms", "setting", ("max",), 3, 4, ("registry",), False),
        ("forms", "setting", ("old",), 1, ABSENT, ("registry",), False),
        ("forms", "version", (), "1.0.0", "1.1.0", ("registry",), False),
        ("support", "disable", (), True, False, ("legacy",), False),
        (None, "override", ("theme", "a"), 1, ABSENT, ("legacy",), False),
    ]


def test_merge_keeps_unlisted_settings_and_deep_merges_overrides() -> None:
    live = ClientLive(
        client_id=CID,
        legacy=LegacyRow(
            modules_enabled=("forms",), theme_overrides={"colors": {"bg": "#fff", "fg": "#000"}}
        ),
        registry={
            "forms": RegistryModule(enabled=True, version="1.0.0", settings={"a": {"x": 1, "y": 2}})
        },
    )
    d = desired(
        overrides={"theme": {"colors": {"fg": "#111"}}},
        forms=DesiredModule(version="1.0.0", settings={"a": {"y": 3}}),
    )
    p = plan(d, live)
    assert p.target.registry["forms"].settings == {"a": {"x": 1, "y": 3}}
    assert p.target.legacy.theme_overrides == {"colors": {"bg": "#fff", "fg": "#111"}}
    assert summary(p) == [
        ("forms", "setting", ("a", "y"), 2, 3, ("registry",), False),
        (None, "override", ("theme", "colors", "fg"), "#000", "#111", ("legacy",), False),
    ]


def test_preserve_writes_nothing_but_shows_informational() -> None:
    live = ClientLive(client_id=CID, legacy=LegacyRow(modules_enabled=("support",)))
    d = desired("preserve", forms=DesiredModule(version="1.0.0"))
    p = plan(d, live)
    assert p.target == live
    assert not p.writes
    assert summary(p) == [
        ("forms", "enable", (), False, True, ("legacy", "registry"), True),
        ("forms", "version", (), None, "1.0.0", ("registry",), True),
    ]


def test_order_only_difference_is_not_a_change() -> None:
    live = ClientLive(
        client_id=CID,
        legacy=LegacyRow(modules_enabled=("support", "forms")),
        registry={"forms": RegistryModule(enabled=True, version="1.0.0")},
    )
    p = plan(desired(forms=DesiredModule(version="1.0.0"), support=DesiredModule()), live)
    # support has no registry row yet: only that row is created (the registry adopts what
    # the legacy list enables, issue 13); legacy order stays.
    assert p.target.legacy == live.legacy
    assert [str(c.kind) for c in p.changes] == ["adopt"]
    assert p.changes[0].stores == frozenset({"registry"})


def test_sensitive_setting_is_flagged() -> None:
    live = ClientLive(client_id=CID)
    d = desired(
        mail=DesiredModule(version="1.0.0", settings={"smtp": {"password": "hunter2", "host": "h"}})
    )
    p = plan(d, live, {"mail": [("smtp", "password")]})
    flagged = {c.path: c.sensitive for c in p.changes if str(c.kind) == "setting"}
    assert flagged == {("smtp", "host"): False, ("smtp", "password"): True}
    assert "hunter2" not in str([c.to_json() for c in p.changes])
    assert "hunter2" not in str(p.to_json(hash_sensitive=True))


# ---- properties -------------------------------------------------------------------------

MODULES = ["analytics", "forms", "support", "docs"]
json_leaf = st.one_of(st.integers(-3, 3), st.text("ab", max_size=2), st.booleans(), st.none())
json_tree = st.recursive(
    json_leaf,
    lambda inner: st.dictionaries(st.sampled_from("xyz"), inner, max_size=3),
    max_leaves=6,
)
settings_map = st.dictionaries(st.sampled_from("xyz"), json_tree, max_size=3)
strategy_name = st.sampled_from(["merge", "replace", "preserve"])

registry_row = st.builds(
    RegistryModule,
    enabled=st.booleans(),
    version=st.one_of(st.none(), st.sampled_from(["1.0.0", "2.0.0"])),
    settings=settings_map,
)
override_value = st.one_of(st.none(), settings_map)
legacy_row = st.builds(
    LegacyRow,
    modules_enabled=st.lists(st.sampled_from(MODULES), unique=True).map(tuple),
    theme_overrides=override_value,
    consultation_config=override_value,
)
lives = st.builds(
    ClientLive,
    client_id=st.just(CID),
    legacy=st.one_of(st.none(), legacy_row),
    registry=st.dictionaries(st.sampled_from(MODULES), registry_row, max_size=4),
)
desired_module = st.builds(
    DesiredModule,
    enabled=st.booleans(),
    version=st.sampled_from(["1.0.0", "2.0.0"]),
    settings=settings_map,
    strategy=st.one_of(st.none(), strategy_name),
)
desireds = st.builds(
    ClientDesired,
    client_id=st.just(CID),
    strategy=strategy_name,
    modules=st.dictionaries(st.sampled_from(MODULES), desired_module, max_size=4),
    overrides=st.dictionaries(st.sampled_from(["theme", "consultation"]), settings_map, max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(d=desireds, live=lives)
def test_apply_then_replan_is_empty(d: ClientDesired, live: ClientLive) -> None:
    first = plan(d, live)
    second = plan(d, first.target)
    assert second.target == first.target
    assert not second.writes


@settings(max_examples=300, deadline=None)
@given(d=desireds, live=lives)
def test_a_write_always_shows_a_change(d: ClientDesired, live: ClientLive) -> None:
    p = plan(d, live)
    assert p.writes == (p.target != live)


@settings(max_examples=200, deadline=None)
@given(d=desireds, live=lives)
def test_targets_keep_both_stores_in_agreement(d: ClientDesired, live: ClientLive) -> None:
    target = build_target(d, live, DEFAULTS)
    if target == live or target.legacy is None:
        return
    for module, row in target.registry.items():
        preserved = (d.modules.get(module).strategy if module in d.modules else None) or d.strategy
        if preserved != "preserve":
            assert row.enabled == (module in target.legacy.modules_enabled)


def test_adoption_is_one_change_per_module_with_its_version_and_settings() -> None:
    """A module only the legacy list enables, kept enabled: the registry adopts it with the
    desired version and settings; nothing is enabled, disabled or updated (issue 13)."""
    live = ClientLive(client_id=CID, legacy=LegacyRow(modules_enabled=("forms",)))
    p = plan(desired(forms=DesiredModule(version="1.0.0", settings={"max": 3})), live)
    assert summary(p) == [
        ("forms", "adopt", (), ABSENT, "1.0.0", ("registry",), False),
        ("forms", "adopt", ("max",), ABSENT, 3, ("registry",), False),
    ]
    assert p.target.legacy == live.legacy
    counts = summarize([p], 0)
    assert (counts.adopted, counts.enabled, counts.updated, counts.disabled) == (1, 0, 0, 0)


def test_new_change_is_change_with_every_field_given_in_field_order() -> None:
    """plan/model.py's fast constructor (diff's hot loop) sets each field by its slot."""
    names = [f.name for f in dataclasses.fields(Change)]
    assert list(inspect.signature(new_change).parameters) == names
    values = [
        "c1",
        "forms",
        ChangeKind.SETTING,
        ("a", "b"),
        ABSENT,
        {"x": [1]},
        REGISTRY,
        True,
        True,
    ]
    fast, slow = new_change(*values), Change(**dict(zip(names, values, strict=True)))
    assert fast == slow
    assert [getattr(fast, n) for n in names] == values
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.old = 1  # type: ignore[misc]
