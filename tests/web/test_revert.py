"""Revert from the dashboard: refused without the token or CSRF token (nothing changes), done
with both, and recorded as a new run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reconciler import api
from reconciler.live.demo import DEMO_NAMES
from tests.helpers import legacy_rows, registry_rows
from tests.web.conftest import DRIFTED, TOKEN, Fleet, csrf_from

Snapshot = tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]


def snapshot(url: str) -> Snapshot:
    """Both stores and the history, as plain rows."""
    runs = [r.to_json() for r in api.history(url, limit=100)]
    return legacy_rows(url), registry_rows(url), runs


def revert_form(http: httpx.Client, **fields: str) -> httpx.Response:
    data = {"csrf_token": csrf_from(http.get("/runs/1").text), **fields}
    return http.post("/runs/1/revert", data=data)


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({}, 401, "a token is required to revert"),
        ({"token": ""}, 401, "a token is required to revert"),
        ({"token": "wrong"}, 403, "wrong token: nothing was reverted"),
        ({"token": TOKEN[:-1]}, 403, "wrong token: nothing was reverted"),
        ({"token": TOKEN, "csrf_token": "forged"}, 403, "CSRF check failed"),
        ({"token": TOKEN, "csrf_token": ""}, 403, "CSRF check failed"),
    ],
)
def test_form_revert_refused_changes_nothing(
    fleet: Fleet, http: httpx.Client, fields: dict[str, str], status: int, message: str
) -> None:
    before = snapshot(fleet.store_url)
    response = revert_form(http, force="on", **fields)
    assert response.status_code == status
    assert message in response.text
    assert TOKEN not in response.text
    assert snapshot(fleet.store_url) == before


def test_form_revert_refused_from_another_origin(fleet: Fleet, http: httpx.Client) -> None:
    before = snapshot(fleet.store_url)
    csrf = csrf_from(http.get("/runs/1").text)
    response = http.post(
        "/runs/1/revert",
        data={"csrf_token": csrf, "token": TOKEN, "force": "on"},
        headers={"origin": "https://attacker.example"},
    )
    assert response.status_code == 403
    assert snapshot(fleet.store_url) == before


def test_form_revert_refused_without_the_csrf_cookie(fleet: Fleet, served: str) -> None:
    before = snapshot(fleet.store_url)
    with httpx.Client(base_url=served) as page_client:
        csrf = csrf_from(page_client.get("/runs/1").text)
    with httpx.Client(base_url=served) as other:  # a fresh client: no cookie
        response = other.post("/runs/1/revert", data={"csrf_token": csrf, "token": TOKEN})
    assert response.status_code == 403
    assert snapshot(fleet.store_url) == before


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"authorization": "Bearer wrong"}, 403),
        ({"authorization": f"Basic {TOKEN}"}, 401),
    ],
)
def test_api_revert_refused_changes_nothing(
    fleet: Fleet, http: httpx.Client, headers: dict[str, str], status: int
) -> None:
    before = snapshot(fleet.store_url)
    response = http.post("/api/history/1/revert", json={"force": True}, headers=headers)
    assert response.status_code == status
    assert snapshot(fleet.store_url) == before


def modules_by_client(url: str) -> dict[str, Any]:
    return {row["client_id"]: row["modules_enabled"] for row in legacy_rows(url)}


def test_form_revert_of_a_drifted_client_is_refused_as_stale(
    fleet: Fleet, http: httpx.Client
) -> None:
    before = snapshot(fleet.store_url)
    response = revert_form(http, token=TOKEN, client=DRIFTED)
    assert response.status_code == 409
    assert "refused as stale" in response.text
    legacy, registry, runs = snapshot(fleet.store_url)
    assert (legacy, registry) == before[:2]
    assert runs[0]["kind"] == "revert"  # the refusal is recorded; nothing was written
    assert runs[0]["reverts_run"] == 1


def test_form_revert_with_token_restores_the_before_state(fleet: Fleet, http: httpx.Client) -> None:
    run1 = api.history_show(fleet.store_url, 1)
    response = revert_form(http, token=TOKEN, force="on", reason="undo the demo apply")
    assert response.status_code == 200
    assert 'id="new-run">run 2</a>' in response.text
    assert "5 applied, 0 unchanged, 0 refused as stale, 0 failed" in response.text
    expected = {
        s.client_id: list(s.before.legacy.modules_enabled)
        for s in run1.snapshots
        if s.before.legacy is not None
    }
    restored = modules_by_client(fleet.store_url)
    assert {cid: restored[cid] for cid in expected} == expected
    assert {s.client_id for s in run1.snapshots if s.before.legacy is None} == set(
        DEMO_NAMES
    ) - set(restored)
    history = http.get("/api/history").json()["runs"]
    assert [(r["id"], r["kind"], r["reverts_run"], r["actor"], r["reason"]) for r in history] == [
        (2, "revert", 1, "dashboard", "undo the demo apply"),
        (1, "apply", None, "test", None),
    ]
    assert '<a href="/runs/2">2</a>' in http.get("/history").text


def test_api_revert_of_one_client_with_token(fleet: Fleet, http: httpx.Client) -> None:
    client_id = next(
        s.client_id
        for s in api.history_show(fleet.store_url, 1).snapshots
        if s.client_id != DRIFTED
    )
    response = http.post(
        "/api/history/1/revert",
        json={"clients": [client_id], "reason": "api"},
        headers={"authorization": f"Bearer {TOKEN}"},
    )
    assert response.status_code == 200
    report = response.json()
    assert report["ok"] is True
    assert report["run_id"] == 2
    assert report["clients"] == [{"client_id": client_id, "outcome": "applied", "message": ""}]
    shown = http.get("/api/history/2").json()
    assert shown["run"]["kind"] == "revert"
    assert [c["client_id"] for c in shown["clients"]] == [client_id]
