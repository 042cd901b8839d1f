"""Rollout plan and rollout report as text and markdown, compared with golden files."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler import api, render
from reconciler.live.engine import display_url
from reconciler.results import RunMeta
from tests.cli.cli_helpers import invoke
from tests.rollout_helpers import demo_tree

GOLDEN = Path(__file__).parent / "golden"
ROLLOUT = """
rollout:
  waves:
    - name: canary
      select: {clients: [bright-smiles]}
      gate:
        checks:
          - command: ["./check.sh", "{client_id}"]
        retries: 0
    - name: growth
      select: {profiles: [growth]}
      on_failure: pause
    - name: everyone
      select: {percent: 100}
"""


def _golden(name: str, text: str, store_url: str) -> None:
    expected = (GOLDEN / name).read_text().replace("{store}", display_url(store_url))
    if os.environ.get("RECONCILER_UPDATE_GOLDEN") == "1":  # pragma: no cover - maintainers
        (GOLDEN / name).write_text(text.replace(display_url(store_url), "{store}"))
        return
    assert text == expected


def _layout(result: object, fmt: str) -> str:
    out = io.StringIO()
    render.write(result, fmt, out)
    return out.getvalue()


def test_rollout_plan_and_report_match_golden(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    desired = demo_tree(capsys, store_url, tmp_path, ROLLOUT)
    applied = invoke(capsys, "apply", "--yes", "--store", store_url, "--dir", str(desired))
    assert applied.code == 0, applied.err
    settings = desired / "reconciler.yaml"
    settings.write_text(settings.read_text().replace("channel: email", "channel: chat"))
    (desired / "unhealthy.txt").write_text("74089fb5-e782-426b-ad85-c7990bd21638\n")
    planned = api.rollout_plan(store_url, str(desired))
    _golden("rollout-plan.txt", _layout(planned, "text"), store_url)
    _golden("rollout-plan.md", _layout(planned, "markdown"), store_url)
    noon = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    meta = RunMeta(actor="ops", command="reconciler rollout --yes", clock=lambda: noon)
    report = api.rollout_start(store_url, str(desired), meta=meta)
    assert report.state == "failed"
    _golden("rollout-report.txt", _layout(report, "text"), store_url)
    _golden("rollout-report.md", _layout(report, "markdown"), store_url)
