"""plan/policy.py: what a rule sees of a change and of its client."""

from __future__ import annotations

from reconciler.model import ClientDesired, DesiredModule
from reconciler.plan.model import ABSENT, Change, ChangeKind
from reconciler.plan.policy import change_view, client_view


def test_a_rule_sees_sensitive_values_masked_and_absent_as_null() -> None:
    change = Change(
        client_id="c1",
        module="email-integration",
        kind=ChangeKind.SETTING,
        path=("smtp", "smtp_password"),
        old=ABSENT,
        new="hunter2",
        stores=frozenset({"registry"}),
        sensitive=True,
    )
    assert change_view(change) == {
        "kind": "setting",
        "module": "email-integration",
        "path": ["smtp", "smtp_password"],
        "op": "add",
        "old": None,
        "new": "(sensitive)",
        "stores": ["registry"],
        "informational": False,
        "sensitive": True,
    }


def test_a_rule_sees_the_clients_enabled_modules_and_profiles_in_order() -> None:
    client = ClientDesired(
        client_id="c1",
        name="acme",
        file="clients/acme.yaml",
        profiles=("growth", "foundation"),
        modules={
            "forms": DesiredModule(enabled=True, version="1.0.0"),
            "analytics": DesiredModule(enabled=False, version="2.0.0"),
        },
    )
    assert client_view(client) == {
        "client_id": "c1",
        "name": "acme",
        "file": "clients/acme.yaml",
        "strategy": "merge",
        "profiles": ["growth", "foundation"],
        "modules": ["forms"],
    }
