"""The dashboard's rollout pages: waves, progress, gate results and the revert that happened."""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import pytest

from bench.serving import serving
from reconciler.web.app import ServeConfig
from tests.cli.cli_helpers import invoke
from tests.rollout_helpers import IDS, demo_tree, health_server, three_waves
from tests.web.conftest import TOKEN


def test_rollout_pages_show_waves_gate_results_and_the_revert(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    with health_server() as health:
        desired = demo_tree(capsys, store_url, tmp_path, three_waves(health.url))
        health.failing.add(IDS["bright-smiles"])
        failed = invoke(capsys, "rollout", "--yes", "--store", store_url, "--dir", str(desired))
        assert failed.code == 1
    config = ServeConfig(store_url=store_url, desired_dir=str(desired), token=TOKEN)
    with serving(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        listing = http.get("/rollouts")
        detail = http.get("/rollouts/1")
        client = http.get(f"/clients/{IDS['bright-smiles']}")
        document = http.get("/api/rollouts/1")
        missing = http.get("/rollouts/99")
    assert listing.status_code == 200
    assert '<a href="/rollouts/1">1</a>' in listing.text
    assert "0 / 3 passed" in listing.text
    assert detail.status_code == 200
    page = html.unescape(detail.text)
    assert "Wave 1: canary" in page
    assert 'Applied by <a href="/runs/1">run 1</a>.' in page
    assert 'Reverted by <a href="/runs/2">run 2</a>.' in page
    assert f"/health/{IDS['bright-smiles']} answered HTTP 503, expected 200" in page
    assert "reconciler rollout resume 1" in page
    assert client.status_code == 200
    assert '<a href="/rollouts/1">rollout 1</a>' in client.text
    assert "wave 1 canary" in client.text
    assert (
        document.json()
        == invoke(capsys, "rollout", "status", "1", "--store", store_url, "--format", "json").json()
    )
    assert missing.status_code == 404
