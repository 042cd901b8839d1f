"""`GET /metrics`: Prometheus text that parses, equals `drift --format json`, needs no token,
and carries no client id, name or secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.serving import serving
from reconciler import api
from reconciler.live.demo import DEMO_NAMES
from reconciler.results import RunMeta
from reconciler.web.app import ServeConfig
from tests.cli.cli_helpers import invoke
from tests.web.conftest import TOKEN, Fleet

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(http: httpx.Client) -> tuple[str, Samples]:
    response = http.get("/metrics")  # no Authorization header: read-only, no token
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return response.text, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def drift_json(capsys: pytest.CaptureFixture[str], fleet: Fleet) -> Any:
    result = invoke(
        capsys, "drift", "--store", fleet.store_url, "--dir", fleet.desired_dir, "--format", "json"
    )
    assert result.code == 2, result.err
    return result.json()


def test_metrics_equal_drift_json_and_history(
    fleet: Fleet, http: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    text, samples = scrape(http)
    report = drift_json(capsys, fleet)
    summary = report["summary"]
    assert value(samples, "reconciler_fleet_clients") == summary["clients"] == 6
    for name in ("drifted", "pending", "never_applied", "in_sync"):
        assert value(samples, "reconciler_drift_clients", **{"class": name}) == summary[name]
    assert summary["drifted"] == summary["pending"] == 1
    pending = sum(c["pending_changes"] for c in report["clients"])
    assert pending > 0
    assert value(samples, "reconciler_pending_changes") == pending
    assert value(samples, "reconciler_up") == 1

    history = api.history(fleet.store_url)
    [run] = history
    assert value(samples, "reconciler_runs_total", kind="apply", status="done") == 1
    assert value(samples, "reconciler_client_writes_total", kind="apply") == run.clients
    assert value(samples, "reconciler_last_run_clients", kind="apply") == run.clients
    assert value(samples, "reconciler_last_run_status", kind="apply", status="done") == 1
    assert value(samples, "reconciler_last_run_status", kind="apply", status="failed") == 0
    assert value(samples, "reconciler_last_run_timestamp_seconds", kind="apply") == (
        run.started_at.timestamp()
    )
    assert run.finished_at is not None
    assert value(samples, "reconciler_last_run_duration_seconds", kind="apply") == (
        (run.finished_at - run.started_at).total_seconds()
    )

    for client_id, name in DEMO_NAMES.items():
        assert client_id not in text
        assert name not in text
    assert fleet.secret not in text


def test_a_heal_shows_in_the_counters(fleet: Fleet, http: httpx.Client) -> None:
    report = api.drift(fleet.store_url, fleet.desired_dir)
    healed = api.heal(
        fleet.store_url,
        report,
        fleet.desired_dir,
        force=True,
        meta=RunMeta(actor="test", command="test heal"),
    )
    assert healed.ok
    http.get("/api/drift", params={"refresh": "1"})
    _, samples = scrape(http)
    assert value(samples, "reconciler_runs_total", kind="heal", status="done") == 1
    assert value(samples, "reconciler_client_writes_total", kind="heal") == 1
    assert value(samples, "reconciler_drift_clients", **{"class": "drifted"}) == 0


def test_an_unreadable_desired_state_is_up_0_with_history_still_there(
    fleet: Fleet, tmp_path: Path
) -> None:
    config = ServeConfig(
        store_url=fleet.store_url, desired_dir=str(tmp_path / "missing"), token=TOKEN
    )
    with serving(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        _, samples = scrape(http)
    assert value(samples, "reconciler_up") == 0
    assert value(samples, "reconciler_runs_total", kind="apply", status="done") == 1
    assert not [name for name, _ in samples if name == "reconciler_fleet_clients"]
