"""The dashboard over HTTP on a real store: every page and API document matches the CLI's."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from typing import Any

import httpx

from bench.serving import serving
from reconciler.live.demo import ACME_DENTAL, LAKESIDE_VETS
from reconciler.web.app import ServeConfig
from tests.web.conftest import DRIFTED, PENDING, TOKEN, Fleet, csrf_from, drift_legacy


def cli_json(fleet: Fleet, *args: str, ok: tuple[int, ...] = (0,)) -> Any:
    """`reconciler ARGS --format json` against the fleet's store and desired state."""
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", *args, "--store", fleet.store_url, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in ok, result.stderr
    return json.loads(result.stdout)


def counts(html: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'id="count-([a-z_]+)">(\d+)<', html)}


def listed(html: str) -> list[str]:
    return re.findall(r"<td><code>([0-9a-f-]{36})</code></td>", html)


def test_overview_counts_match_drift_cli(fleet: Fleet, http: httpx.Client) -> None:
    expected = cli_json(fleet, "drift", "--dir", fleet.desired_dir, ok=(2,))
    assert expected["summary"] == {
        "clients": 6,
        "drifted": 1,
        "pending": 1,
        "never_applied": 1,
        "in_sync": 3,
    }
    page = http.get("/")
    assert page.status_code == 200
    assert counts(page.text) == {
        "all": 6,
        "drifted": 1,
        "pending": 1,
        "never_applied": 1,
        "in_sync": 3,
    }
    assert sorted(listed(page.text)) == sorted(c["client_id"] for c in expected["clients"])
    assert http.get("/api/drift").json() == expected


def test_overview_filters_by_class_and_searches(http: httpx.Client) -> None:
    assert listed(http.get("/", params={"class": "drifted"}).text) == [DRIFTED]
    assert listed(http.get("/", params={"class": "pending"}).text) == [PENDING]
    assert listed(http.get("/", params={"class": "never_applied"}).text) == [LAKESIDE_VETS]
    assert listed(http.get("/", params={"q": "ACME"}).text) == [ACME_DENTAL]
    assert listed(http.get("/", params={"q": ACME_DENTAL[:8]}).text) == [ACME_DENTAL]
    assert listed(http.get("/", params={"class": "drifted", "q": "acme"}).text) == []
    assert "No clients match." in http.get("/", params={"q": "no-such-client"}).text


def test_overview_is_cached_until_refreshed(fleet: Fleet, http: httpx.Client) -> None:
    first = http.get("/")
    assert counts(first.text)["drifted"] == 1
    drift_legacy(fleet.store_url, ACME_DENTAL, ["support"])
    assert counts(http.get("/").text)["drifted"] == 1  # the cached report
    refreshed = http.post(
        "/refresh", data={"csrf_token": csrf_from(first.text), "next": "/?class=drifted"}
    )
    assert refreshed.status_code == 303
    assert refreshed.headers["location"] == "/?class=drifted"
    assert sorted(listed(http.get("/?class=drifted").text)) == sorted([ACME_DENTAL, DRIFTED])
    assert http.get("/api/drift").json() == cli_json(
        fleet, "drift", "--dir", fleet.desired_dir, ok=(2,)
    )


def test_refresh_needs_csrf(http: httpx.Client) -> None:
    http.get("/")
    response = http.post("/refresh", data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert "CSRF check failed" in response.text


def test_client_page_shows_badges_conflicts_masked_settings_and_plan(
    fleet: Fleet, http: httpx.Client
) -> None:
    page = http.get(f"/clients/{DRIFTED}")
    assert page.status_code == 200
    text = page.text
    assert '<span class="badge drifted">drifted</span>' in text
    assert "<code>legacy.modules_enabled</code>" in text  # the drifted path
    sources = re.findall(r'data-source="(legacy|registry|unified)"', text)
    status = cli_json(fleet, "status", "--client", DRIFTED, "--dir", fleet.desired_dir)
    assert sources == [m["source"] for m in status["clients"][0]["modules"]]
    assert {"unified", "registry"} <= set(sources)
    assert "enabled in the registry but missing from the legacy list" in text
    assert "&#34;smtp_password&#34;: &#34;(sensitive)&#34;" in text
    assert fleet.secret not in text
    assert "Pending plan" in text
    assert "+ email-integration" in text  # the plan re-enables what old code dropped
    assert '<a href="/runs/1">run 1</a>' in text


def test_client_page_of_an_unknown_client_is_404(http: httpx.Client) -> None:
    page = http.get("/clients/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 404
    assert "is not in the desired state" in page.text
    api_page = http.get("/api/clients/00000000-0000-0000-0000-000000000000")
    assert api_page.status_code == 404
    assert api_page.json()["error"] == (
        "client 00000000-0000-0000-0000-000000000000 is not in the desired state"
    )


def test_api_documents_equal_the_cli_json(fleet: Fleet, http: httpx.Client) -> None:
    status = cli_json(fleet, "status", "--client", DRIFTED, "--dir", fleet.desired_dir)
    assert http.get(f"/api/clients/{DRIFTED}").json() == status
    plan = cli_json(fleet, "plan", "--dir", fleet.desired_dir)
    assert http.get("/api/plan").json() == plan
    assert http.get("/api/history").json() == cli_json(fleet, "history")
    shown = cli_json(fleet, "history", "show", "1", "--dir", fleet.desired_dir)
    assert http.get("/api/history/1").json() == shown
    assert http.get("/api/history/99").status_code == 404
    for path in ("/api/drift", f"/api/clients/{DRIFTED}", "/api/plan", "/api/history/1"):
        assert fleet.secret not in http.get(path).text


def test_plan_page_is_the_engines_rendering(fleet: Fleet, http: httpx.Client) -> None:
    text = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "plan",
            "--store",
            fleet.store_url,
            "--dir",
            fleet.desired_dir,
        ],
        capture_output=True,
        text=True,
        check=True,
        env={"NO_COLOR": "1", "PATH": ""},
    ).stdout
    page = http.get("/plan").text
    shown = re.search(r'<pre class="plan">(.*)</pre>', page, re.S)
    assert shown
    lines = re.findall(r'<span class="[a-z]*">(.*)</span>', shown.group(1))
    assert html.unescape("\n".join(lines)) + "\n" == text
    markdown = http.get("/plan", params={"format": "markdown"}).text
    assert "### module-reconciler plan" in markdown
    assert fleet.secret not in page + markdown


def test_history_and_run_pages(fleet: Fleet, http: httpx.Client) -> None:
    history = http.get("/history").text
    assert '<a href="/runs/1">1</a>' in history
    run = http.get("/runs/1")
    assert run.status_code == 200
    assert run.text.count('class="revert"') == 1 + 5  # the whole run, then each client
    assert "<code>registry.email-integration.settings.smtp.smtp_password</code>" in run.text
    assert fleet.secret not in run.text
    missing = http.get("/runs/99")
    assert missing.status_code == 404
    assert "run 99 not found" in missing.text
    assert "Traceback" not in missing.text


def test_security_headers_and_host_check(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "HttpOnly" in page.headers["set-cookie"]
    assert "SameSite=strict" in page.headers["set-cookie"]
    rebound = http.get("/", headers={"host": "attacker.example"})
    assert rebound.status_code == 400


def test_run_page_is_paginated(fleet: Fleet) -> None:
    config = ServeConfig(
        store_url=fleet.store_url, desired_dir=fleet.desired_dir, token=TOKEN, per_page=2
    )
    with serving(config) as base, httpx.Client(base_url=base) as http:
        pages = [http.get("/runs/1", params={"page": n}).text for n in (1, 2, 3, 9)]
    shown = [re.findall(r'<section class="snapshot" id="client-([0-9a-f-]+)">', p) for p in pages]
    everyone = [s["client_id"] for s in cli_json(fleet, "history", "show", "1")["clients"]]
    assert shown[:3] == [everyone[0:2], everyone[2:4], everyone[4:5]]
    assert shown[3] == shown[2]  # clamped to the last page
    assert "Clients 3–4 of 5." in pages[1]


def test_a_client_page_before_the_fleet_is_classified_costs_one_client(fleet: Fleet) -> None:
    """Issue 15: the first client page of a started dashboard classifies and plans that client
    alone (the cache's client-id index), and says so; it equals the page made from the fleet's
    report and plan once they are there."""
    from reconciler.web.board import Dashboard

    config = ServeConfig(store_url=fleet.store_url, desired_dir=fleet.desired_dir, token=TOKEN)
    board = Dashboard(config)
    alone_drift, _ = board.client_drift(DRIFTED)
    alone_plan, _, fleets = board.client_plan(DRIFTED)
    assert (board.fleet.peek(), board.plan.peek(), fleets) == (None, None, False)
    assert board.client_drift("00000000-0000-0000-0000-000000000000") == (None, None)
    board.fleet.get()
    board.plan.get()
    from_fleet_drift, _ = board.client_drift(DRIFTED)
    from_fleet_plan, _, fleets = board.client_plan(DRIFTED)
    assert fleets
    assert alone_drift == from_fleet_drift
    assert alone_drift is not None
    assert alone_drift["classes"] == ["drifted"]
    assert [c.to_json() for c in alone_plan.clients] == [
        c.to_json() for c in from_fleet_plan.clients
    ]
    assert [c.client_id for c in alone_plan.clients] == [DRIFTED]
    with serving(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        page = http.get(f"/clients/{DRIFTED}")
    assert page.status_code == 200
    assert "for this client alone (the fleet's plan is still being made)" in page.text
