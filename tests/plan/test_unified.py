"""The unified view: no row means defaults, `[]` means none, sources and conflicts (SPEC §4)."""

from __future__ import annotations

from reconciler.model import ClientLive, LegacyRow, RegistryModule, UnifiedModule
from reconciler.plan.unified import effective_enabled, unify

DEFAULTS = ("analytics", "support")


def test_no_row_means_the_legacy_defaults() -> None:
    live = ClientLive(client_id="c")
    assert unify(live, DEFAULTS) == [
        UnifiedModule(id="analytics", enabled=True, version=None, settings={}, source="legacy"),
        UnifiedModule(id="support", enabled=True, version=None, settings={}, source="legacy"),
    ]


def test_empty_list_means_no_modules() -> None:
    live = ClientLive(client_id="c", legacy=LegacyRow(modules_enabled=()))
    assert unify(live, DEFAULTS) == []
    assert effective_enabled(live, DEFAULTS) == {}


def test_explicit_list_replaces_the_defaults() -> None:
    live = ClientLive(client_id="c", legacy=LegacyRow(modules_enabled=("forms",)))
    assert unify(live, DEFAULTS) == [
        UnifiedModule(id="forms", enabled=True, version=None, settings={}, source="legacy")
    ]


def test_sources_and_conflicts() -> None:
    live = ClientLive(
        client_id="c",
        legacy=LegacyRow(modules_enabled=("forms", "documents", "analytics")),
        registry={
            "forms": RegistryModule(enabled=True, version="1.0.0", settings={"max": 3}),
            "documents": RegistryModule(enabled=False, version="2.0.0"),
            "email": RegistryModule(enabled=True, version="0.1.0"),
            "old": RegistryModule(enabled=False),
        },
    )
    assert unify(live, DEFAULTS) == [
        UnifiedModule(id="analytics", enabled=True, version=None, settings={}, source="legacy"),
        UnifiedModule(
            id="documents",
            enabled=False,
            version="2.0.0",
            settings={},
            source="unified",
            conflicts=("enabled in the legacy list but disabled in the registry",),
        ),
        UnifiedModule(
            id="email",
            enabled=True,
            version="0.1.0",
            settings={},
            source="registry",
            conflicts=("enabled in the registry but missing from the legacy list",),
        ),
        UnifiedModule(
            id="forms", enabled=True, version="1.0.0", settings={"max": 3}, source="unified"
        ),
        UnifiedModule(id="old", enabled=False, version=None, settings={}, source="registry"),
    ]
    assert effective_enabled(live, DEFAULTS) == {
        "analytics": True,
        "documents": False,
        "email": True,
        "forms": True,
        "old": False,
    }


def test_registry_only_module_against_defaults_names_the_defaults() -> None:
    live = ClientLive(client_id="c", registry={"forms": RegistryModule(enabled=True)})
    [_, forms, _] = unify(live, DEFAULTS)
    assert forms.conflicts == (
        "enabled in the registry but missing from the legacy defaults (no legacy row)",
    )
