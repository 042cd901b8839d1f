"""Errors reach the browser as pages (and the API as JSON) naming what to do, never a secret."""

from __future__ import annotations

from pathlib import Path

import httpx

from bench.serving import serving
from reconciler.web.app import ServeConfig
from tests.web.conftest import REPO, TOKEN, Fleet

PASSWORD = "hunter2-not-shown"


def test_unreachable_store_password_is_never_shown() -> None:
    url = f"postgresql+psycopg://reader:{PASSWORD}@127.0.0.1:1/fleet"
    config = ServeConfig(store_url=url, desired_dir=str(REPO / "desired-state"), token=TOKEN)
    with serving(config) as base, httpx.Client(base_url=base, timeout=30) as http:
        for path in ("/", "/history", "/plan", "/runs/1", "/api/drift", "/api/history"):
            response = http.get(path)
            assert response.status_code == 503, path  # not a bug: the store is down
            assert PASSWORD not in response.text, path
            assert "reader:***@127.0.0.1:1/fleet" in response.text, path
            assert "Traceback" not in response.text
        error = http.get("/api/history").json()
        assert error["error"].startswith(
            "store postgresql+psycopg://reader:***@127.0.0.1:1/fleet: "
        )
        assert error["hint"].startswith("check that the database server is running")


def test_invalid_desired_state_lists_every_problem(fleet: Fleet, served: str) -> None:
    client_file = Path(fleet.desired_dir) / "clients" / "acme-dental.yaml"
    client_file.write_text("client_id: [unclosed\n", encoding="utf-8")
    with httpx.Client(base_url=served, timeout=30) as http:
        page = http.get("/")
        assert page.status_code == 503  # the dashboard cannot serve until the tree is fixed
        # the server runs outside the tree: the path is absolute, so it opens (issue 16)
        assert f"<code>{client_file}:" in page.text
        data = http.get("/api/drift").json()
    assert data["problems"][0]["file"] == str(client_file)
    assert data["hint"]
