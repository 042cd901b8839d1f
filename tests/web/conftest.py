"""Fixtures for the dashboard: a demo fleet applied to a real store, and a running server.

`fleet` copies desired-state/ (with a unique secret in place of its placeholders), seeds the demo
live state, applies it as run 1, then makes one client drifted (old code rewrites its legacy
row) and one pending (its YAML changes): the four drift classes all appear.
`served` runs the dashboard with uvicorn on a free loopback port in a thread (bench/serving.py).
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bench.serving import serving
from reconciler import api
from reconciler.live.demo import BRIGHT_SMILES, DEMO_NAMES, NORTHWIND_CLINIC
from reconciler.results import RunMeta
from reconciler.web.app import ServeConfig
from tests.helpers import add_clients, is_pg, run_sql

REPO = Path(__file__).resolve().parents[2]
TOKEN = "test-serve-token-" + "x" * 16
DRIFTED = NORTHWIND_CLINIC
PENDING = BRIGHT_SMILES


@dataclass(frozen=True)
class Fleet:
    store_url: str
    desired_dir: str
    secret: str  # a sensitive setting value applied to the store; must never be shown


def drift_legacy(store_url: str, client_id: str, modules: list[str]) -> None:
    """Rewrite a legacy row the way old application code does, outside the reconciler."""
    cast = "CAST(%s AS jsonb)" if is_pg(store_url) else "%s"
    run_sql(
        store_url,
        f"UPDATE client_app_overrides SET modules_enabled = {cast} WHERE client_id = %s",
        [json.dumps(modules), client_id],
    )


@pytest.fixture
def fleet(store_url: str, tmp_path: Path) -> Fleet:
    desired = tmp_path / "desired-state"
    shutil.copytree(REPO / "desired-state", desired)
    secret = f"s3cret-{secrets.token_hex(6)}"
    for path in desired.rglob("*"):  # client files and the secret files they refer to
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("placeholder-not-a-secret", secret), encoding="utf-8")
    add_clients(store_url, DEMO_NAMES)
    api.init(store_url, demo=True)
    report = api.apply(
        store_url,
        api.plan(store_url, str(desired)),
        force=True,
        meta=RunMeta(actor="test", command="test apply"),
    )
    assert report.ok
    assert report.run_id == 1
    drift_legacy(store_url, DRIFTED, ["analytics"])
    client_file = desired / "clients" / "bright-smiles.yaml"
    text = client_file.read_text(encoding="utf-8")
    client_file.write_text(text.replace('"#f5a623"', '"#000000"'), encoding="utf-8")
    return Fleet(store_url=store_url, desired_dir=str(desired), secret=secret)


@pytest.fixture
def served(fleet: Fleet) -> Iterator[str]:
    config = ServeConfig(store_url=fleet.store_url, desired_dir=fleet.desired_dir, token=TOKEN)
    with serving(config) as url:
        yield url


@pytest.fixture
def http(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, timeout=30) as client:
        yield client


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)
