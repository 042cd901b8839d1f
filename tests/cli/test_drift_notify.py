"""`drift --notify URL`: one webhook per drift transition, grouped by drift, retried, secret-free.

A real receiver on 127.0.0.1 (tests/webhook_receiver.py) takes the POSTs; every payload is
validated against schemas/drift-event.schema.json, and the drift state is read back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy.engine import make_url

from reconciler import api
from reconciler.live.engine import dispose_engine
from reconciler.webhook import Retry
from tests.cli.cli_helpers import EXAMPLE_IDS, REPO, copy_example, invoke
from tests.helpers import add_clients, is_pg, run_sql
from tests.webhook_receiver import receiving

SCHEMA = json.loads((REPO / "schemas" / "drift-event.schema.json").read_text())
BRIGHT = EXAMPLE_IDS["bright-smiles"]
NORTHWIND = EXAMPLE_IDS["northwind-clinic"]
APPLIED = sorted(v for k, v in EXAMPLE_IDS.items() if k != "lakeside-vets")  # preserve: never
FAST = Retry(attempts=3, wait_initial=0.01, wait_max=0.02, timeout=5)


def valid(event: Any) -> Any:
    """The event, after checking it against the documented schema."""
    errors = [e.message for e in Draft202012Validator(SCHEMA).iter_errors(event)]
    assert errors == []
    return event


@pytest.fixture
def applied(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    desired = str(copy_example(tmp_path))
    add_clients(store_url, EXAMPLE_IDS.values())
    result = invoke(capsys, "apply", "--yes", "--store", store_url, "--dir", desired)
    assert result.code == 0, result.err
    return store_url, desired


def drift_legacy(store: str, client_id: str, modules: list[str]) -> None:
    cast = "CAST(%s AS jsonb)" if is_pg(store) else "%s"
    run_sql(
        store,
        f"UPDATE client_app_overrides SET modules_enabled = {cast} WHERE client_id = %s",
        [json.dumps(modules), client_id],
    )


def drift_setting(store: str, client_id: str, module: str, settings: dict[str, Any]) -> None:
    cast = "CAST(%s AS jsonb)" if is_pg(store) else "%s"
    run_sql(
        store,
        f"UPDATE reconciler_client_modules SET settings = {cast} "
        "WHERE client_id = %s AND module_id = %s",
        [json.dumps(settings), client_id, module],
    )


def state(store: str) -> list[tuple[str, str]]:
    rows = run_sql(store, "SELECT client_id, fingerprint FROM reconciler_drift_state")
    return sorted((str(cid), fp) for cid, fp in rows)


def drift(capsys: pytest.CaptureFixture[str], store: str, desired: str, *urls: str) -> Any:
    notify = [arg for url in urls for arg in ("--notify", url)]
    return invoke(capsys, "drift", "--store", store, "--dir", desired, "--format", "json", *notify)


def test_one_event_per_transition_over_three_runs(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    drift_legacy(store, BRIGHT, ["support"])
    with receiving() as receiver:
        first = drift(capsys, store, desired, receiver.url)
        assert first.code == 2  # drift's own exit code, notified or not
        [drifted] = [valid(e) for e in receiver.events()]
        assert first.json()["notifications"] == [
            {"url": receiver.url, "events": 1, "sent": 1, "error": None}
        ]
        assert first.err == f"notify {receiver.url}: 1 of 1 event(s) sent, ok\n"
        assert drifted["event"] == "drifted"
        assert drifted["clients"] == [
            {"client_id": BRIGHT, "name": "bright-smiles", "first_seen": drifted["first_seen"]}
        ]
        [item] = drifted["items"]
        assert item == {
            "store": "legacy",
            "module": None,
            "path": ["modules_enabled"],
            "op": "change",
            "desired": [
                "analytics-basic",
                "automation",
                "documents",
                "forms",
                "integrations",
                "support",
            ],
            "live": ["support"],
            "sensitive": False,
        }
        assert drifted["heal"] == f"reconciler drift --heal --dir {desired} --client {BRIGHT}"
        assert state(store) == [(BRIGHT, drifted["fingerprint"])]

        second = drift(capsys, store, desired, receiver.url)
        assert second.code == 2
        assert len(receiver.requests) == 1  # the same drift again: nothing sent
        assert second.json()["notifications"][0] == {
            "url": receiver.url,
            "events": 0,
            "sent": 0,
            "error": None,
        }

        healed = invoke(capsys, "drift", "--heal", "--yes", "--store", store, "--dir", desired)
        assert healed.code == 0, healed.err
        third = drift(capsys, store, desired, receiver.url)
        assert third.code == 0
        [_, resolved] = [valid(e) for e in receiver.events()]
        assert len(receiver.requests) == 2
    assert (resolved["event"], resolved["fingerprint"]) == ("resolved", drifted["fingerprint"])
    assert resolved["clients"] == drifted["clients"]
    assert (resolved["items"], resolved["heal"]) == (drifted["items"], None)
    assert state(store) == []


def test_changed_drift_is_one_changed_event_keeping_first_seen(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    drift_legacy(store, BRIGHT, ["support"])
    with receiving() as receiver:
        assert drift(capsys, store, desired, receiver.url).code == 2
        drift_legacy(store, BRIGHT, ["support", "forms"])
        assert drift(capsys, store, desired, receiver.url).code == 2
        assert drift(capsys, store, desired, receiver.url).code == 2
        first, changed = (valid(e) for e in receiver.events())
    assert changed["event"] == "changed"
    assert changed["fingerprint"] != first["fingerprint"]
    assert changed["first_seen"] == first["first_seen"]
    assert changed["items"][0]["live"] == ["support", "forms"]
    assert state(store) == [(BRIGHT, changed["fingerprint"])]


def test_identical_drift_on_many_clients_is_one_event(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    run_sql(
        store, "UPDATE reconciler_client_modules SET version = '1.4.9' WHERE module_id = 'forms'"
    )
    drift_legacy(store, BRIGHT, ["support"])  # bright-smiles: a different drift, its own event
    with receiving() as receiver:
        result = drift(capsys, store, desired, receiver.url)
        assert result.code == 2
        events = [valid(e) for e in receiver.events()]
        assert drift(capsys, store, desired, receiver.url).code == 2
        assert len(receiver.requests) == 2
        invoke(capsys, "drift", "--heal", "--yes", "--store", store, "--dir", desired)
        assert drift(capsys, store, desired, receiver.url).code == 0
        resolved = [valid(e) for e in receiver.events()[2:]]
    forms = [e for e in events if [i["module"] for i in e["items"]] == ["forms"]]
    assert [e["event"] for e in forms] == ["drifted"]
    others = sorted(c for c in APPLIED if c != BRIGHT)
    assert sorted(c["client_id"] for c in forms[0]["clients"]) == others
    assert forms[0]["items"] == [
        {
            "store": "registry",
            "module": "forms",
            "path": ["version"],
            "op": "change",
            "desired": "1.5.0",
            "live": "1.4.9",
            "sensitive": False,
        }
    ]
    assert forms[0]["heal"].count("--client") == len(others)
    [bright] = [e for e in events if e is not forms[0]]
    assert [c["client_id"] for c in bright["clients"]] == [BRIGHT]
    assert len(result.json()["notifications"]) == 1
    assert sorted((e["event"], len(e["clients"])) for e in resolved) == [
        ("resolved", 1),
        ("resolved", len(others)),
    ]


def test_receiver_failing_twice_gets_the_event_once(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    drift_legacy(store, BRIGHT, ["support"])
    with receiving(fail_first=2) as receiver:
        report = api.drift(store, desired, notify=[receiver.url], retry=FAST)
        assert [n.to_json() for n in report.notifications] == [
            {"url": receiver.url, "events": 1, "sent": 1, "error": None}
        ]
        assert len(receiver.requests) == 3
        [event] = [valid(e) for e in receiver.events()]
        again = api.drift(store, desired, notify=[receiver.url], retry=FAST)
        assert (len(receiver.requests), again.notifications[0].events) == (3, 0)
    keys = {r.headers["idempotency-key"] for r in receiver.requests}
    assert len(keys) == 1  # the three tries are the same event
    assert event["event"] == "drifted"


def test_failed_delivery_is_reported_and_sent_on_the_next_run(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    drift_legacy(store, BRIGHT, ["support"])
    with receiving(fail_first=1000, fail_status=500) as dead:
        report = api.drift(store, desired, notify=[dead.url], retry=FAST)
        assert len(dead.requests) == 3
    assert report.any_drifted
    [failed] = report.notifications
    assert (failed.events, failed.sent) == (1, 0)
    assert failed.error == "HTTP 500 Internal Server Error (after 3 tries)"
    assert state(store) == []  # not marked notified: the next run sends it
    with receiving() as receiver:
        result = drift(capsys, store, desired, receiver.url)
        assert result.code == 2
        assert [e["event"] for e in receiver.events()] == ["drifted"]
    assert [c for c, _ in state(store)] == [BRIGHT]


def test_unreachable_url_never_fails_drift(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    drift_legacy(store, BRIGHT, ["support"])
    with receiving() as receiver:
        closed = receiver.url  # nothing listens once the receiver has stopped
    with receiving() as live:
        report = api.drift(store, desired, notify=[closed, live.url], retry=FAST)
        assert [e["event"] for e in live.events()] == ["drifted"]
    dead, ok = report.notifications
    assert (dead.sent, ok.sent, ok.error) == (0, 1, None)
    assert dead.error is not None
    assert dead.error.startswith("ConnectError")
    assert [c for c, _ in state(store)] == [BRIGHT]  # one URL accepted it: notified


def test_without_notify_no_state_and_no_notifications_key(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    drift_legacy(store, BRIGHT, ["support"])
    result = drift(capsys, store, desired)
    assert result.code == 2
    assert "notifications" not in result.json()
    assert state(store) == []


def test_no_secret_in_payloads_output_or_state(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "Pa55-w0rd-XYZZY"
    secret, changed = "smtp-S3CRET-applied", "smtp-S3CRET-changed"
    store = store_url
    if is_pg(store_url):
        store = make_url(store_url).set(password=password).render_as_string(hide_password=False)
    desired = copy_example(tmp_path)
    client_file = desired / "clients" / "northwind-clinic.yaml"
    client_file.write_text(client_file.read_text().replace("placeholder-not-a-secret", secret))
    add_clients(store, EXAMPLE_IDS.values())
    assert invoke(capsys, "apply", "--yes", "--store", store, "--dir", str(desired)).code == 0
    [(settings,)] = run_sql(
        store,
        "SELECT settings FROM reconciler_client_modules "
        "WHERE client_id = %s AND module_id = 'email-integration'",
        [NORTHWIND],
    )
    settings = json.loads(settings) if isinstance(settings, str) else settings
    settings["smtp"]["smtp_password"] = changed
    settings["sender_address"] = "ops@northwind.example"
    drift_setting(store, NORTHWIND, "email-integration", settings)
    token_url = "?token=tok-Zz9-SECRETTOKEN"
    try:
        with receiving() as receiver:
            result = drift(capsys, store, str(desired), receiver.url + token_url)
            assert result.code == 2
            [event] = [valid(e) for e in receiver.events()]
            seen = "\n".join([receiver.raw(), result.out, result.err])
    finally:
        dispose_engine(store)
    items = {tuple(i["path"]): i for i in event["items"]}
    assert items[("settings", "smtp", "smtp_password")]["desired"] == "(sensitive)"
    assert items[("settings", "smtp", "smtp_password")]["live"] == "(sensitive)"
    assert items[("settings", "sender_address")]["live"] == "ops@northwind.example"
    stored = run_sql(store_url, "SELECT items FROM reconciler_drift_state")
    for needle in (password, secret, changed, "SECRETTOKEN"):
        assert needle not in seen
        assert needle not in json.dumps(stored, default=str)
    assert f"{receiver.url}?token=***" in result.err
