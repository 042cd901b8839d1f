"""A real browser (system Chromium via Playwright) walks the dashboard and reverts a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import api
from tests.web.conftest import DRIFTED, REPO, TOKEN, Fleet

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} not found: install Debian's `chromium` package to run the browser test",
)


@pytest.fixture
def page(served: str) -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the `playwright` package is not installed (test extra)"
    )
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=served, viewport={"width": 1280, "height": 900})
            yield context.new_page()
        finally:
            browser.close()


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_browse_to_a_drifted_client_and_revert_a_run(fleet: Fleet, page: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto("/")
    assert page.locator("#count-drifted").inner_text() == "1"
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)
    page.get_by_role("link", name="drifted 1").click()
    page.wait_for_url("**/?class=drifted")
    page.get_by_role("link", name="northwind-clinic").click()
    page.wait_for_url(f"**/clients/{DRIFTED}")
    badges = page.locator("[data-source]").all_inner_texts()
    assert {"unified", "registry"} <= set(badges)
    assert page.locator(".badge.drifted").inner_text() == "drifted"
    page.screenshot(path=str(ARTIFACTS / "dashboard-client.png"), full_page=True)

    page.get_by_role("link", name="run 1").first.click()
    page.wait_for_url("**/runs/1")
    whole_run = page.locator("section.revert-all form")
    whole_run.get_by_label("revert token").fill("not-the-token")
    whole_run.get_by_role("button", name="Revert run 1").click()
    assert page.get_by_role("alert").inner_text() == "wrong token: nothing was reverted"
    assert [r.id for r in api.history(fleet.store_url)] == [1]

    page.go_back()
    whole_run = page.locator("section.revert-all form")
    whole_run.get_by_label("revert token").fill(TOKEN)
    whole_run.get_by_label("reason").fill("browser test")
    whole_run.get_by_label("force").check()
    whole_run.get_by_role("button", name="Revert run 1").click()
    assert page.locator("#new-run").inner_text() == "run 2"
    page.screenshot(path=str(ARTIFACTS / "dashboard-reverted.png"), full_page=True)
    runs = api.history(fleet.store_url)
    assert [(r.id, r.kind, r.reverts_run, r.reason) for r in runs] == [
        (2, "revert", 1, "browser test"),
        (1, "apply", None, None),
    ]
    page.goto("/history")
    assert page.locator("table.runs tbody tr").count() == 2
    page.goto("/")
    assert page.locator("#count-drifted").inner_text() == "0"  # the revert cleared the cache
    page.screenshot(path=str(ARTIFACTS / "dashboard-after-revert.png"), full_page=True)
