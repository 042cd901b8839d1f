"""Drift transitions (plan/events.py): drifted, changed, resolved, nothing; grouped by drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.model import ClientLive, LegacyRow, RegistryModule
from reconciler.plan.drift import ClientDrift, DriftClass, DriftReport, drift_items
from reconciler.plan.events import DriftSeen, transitions

NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=3)


def client(cid: str, fp: str = "", items: tuple = ()) -> ClientDrift:
    drifted = {DriftClass.DRIFTED} if fp else {DriftClass.IN_SYNC}
    return ClientDrift(
        client_id=cid,
        name=f"name-{cid}",
        classes=frozenset(drifted),
        drift_items=items,
        drift_fingerprint=fp,
    )


def seen(cid: str, fp: str) -> DriftSeen:
    return DriftSeen(
        client_id=cid, fingerprint=fp, first_seen=EARLIER, last_seen=EARLIER, items=({"x": 1},)
    )


def test_transitions_group_by_kind_and_fingerprint() -> None:
    report = DriftReport(
        clients=(
            client("a", "f1"),  # new
            client("b", "f1"),  # new, same drift as a: same event
            client("c", "f2"),  # was f1: changed
            client("d", "f3"),  # same as notified: nothing
            client("e"),  # notified, now in sync: resolved
            client("f"),  # in sync, never notified: nothing
        )
    )
    state = {"c": seen("c", "f1"), "d": seen("d", "f3"), "e": seen("e", "f9")}
    events, still = transitions(report, state, NOW)
    assert still == ["d"]
    assert [(e.event, e.fingerprint, [c.client_id for c in e.clients]) for e in events] == [
        ("drifted", "f1", ["a", "b"]),
        ("changed", "f2", ["c"]),
        ("resolved", "f9", ["e"]),
    ]
    drifted, changed, resolved = events
    assert drifted.first_seen == NOW
    assert changed.first_seen == EARLIER  # drifted since, across changes
    assert resolved.items == ({"x": 1},)
    assert [r.client_id for r in drifted.state(NOW)] == ["a", "b"]
    assert resolved.state(NOW) == ()
    assert resolved.heal_command("desired-state") is None
    assert drifted.heal_command("my dir") == (
        "reconciler drift --heal --dir 'my dir' --client a --client b"
    )


def test_clients_outside_the_report_keep_their_state() -> None:
    events, still = transitions(DriftReport(clients=(client("a"),)), {"z": seen("z", "f")}, NOW)
    assert (events, still) == ([], [])


def _live(password: str, sender: str) -> ClientLive:
    settings = {"smtp": {"password": password, "pw_hint": "x"}, "sender": sender}
    return ClientLive(
        client_id="c",
        legacy=LegacyRow(modules_enabled=("mail",)),
        registry={"mail": RegistryModule(enabled=True, version="1.0.0", settings=settings)},
    )


def test_drift_items_mask_sensitive_values_and_fingerprint_tells_them_apart() -> None:
    sensitive = {"mail": [("smtp", "pw_hint")]}
    before = _live("old-secret", "a@x")
    items, fp = drift_items(before, _live("new-secret", "b@x"), sensitive)
    assert items == (
        {
            "store": "registry",
            "module": "mail",
            "path": ["settings", "sender"],
            "op": "change",
            "sensitive": False,
            "desired": "a@x",
            "live": "b@x",
        },
        {
            "store": "registry",
            "module": "mail",
            "path": ["settings", "smtp", "password"],  # a secret-like key: masked anyway
            "op": "change",
            "sensitive": True,
            "desired": "(sensitive)",
            "live": "(sensitive)",
        },
    )
    _, other = drift_items(before, _live("another-secret", "b@x"), sensitive)
    _, same = drift_items(_live("old-secret", "a@x"), _live("new-secret", "b@x"), sensitive)
    assert fp != other  # a different secret is a different drift
    assert fp == same
    assert "secret" not in repr(items)


def test_a_module_named_like_a_secret_is_not_masked_whole() -> None:
    def live(version: str) -> ClientLive:
        return ClientLive(
            client_id="c",
            registry={"token-vault": RegistryModule(enabled=True, version=version)},
        )

    items, _ = drift_items(live("1.0.0"), live("1.1.0"), {})
    assert [(i["module"], i["path"], i["desired"], i["live"]) for i in items] == [
        ("token-vault", ["version"], "1.0.0", "1.1.0")
    ]


def test_legacy_overrides_mask_secret_like_keys() -> None:
    def live(theme: dict) -> ClientLive:
        return ClientLive(client_id="c", legacy=LegacyRow(theme_overrides=theme))

    before = live({"cdn": {"api_key": "k-1", "host": "a"}})
    items, _ = drift_items(before, live({"cdn": {"api_key": "k-2", "host": "b"}}), {})
    assert [(i["store"], i["path"], i["desired"], i["live"]) for i in items] == [
        ("legacy", ["theme_overrides", "cdn", "api_key"], "(sensitive)", "(sensitive)"),
        ("legacy", ["theme_overrides", "cdn", "host"], "a", "b"),
    ]
    added, _ = drift_items(ClientLive(client_id="c"), before, {})  # the row appeared
    assert added[0]["path"] == []
    assert added[0]["live"]["theme_overrides"] == {"cdn": {"api_key": "(sensitive)", "host": "a"}}
