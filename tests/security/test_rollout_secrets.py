"""No store password, health-URL password or sensitive setting in any rollout output or row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS, copy_example
from tests.helpers import add_clients, run_sql
from tests.rollout_helpers import health_server

pytestmark = pytest.mark.pg

PASSWORD = "S3cr3t-Pa55"
HEALTH_PASSWORD = "h3alth-Pa55"
SENSITIVE = "Sm7p-XYZZY-0451"


def test_rollout_outputs_and_rows_hold_no_secret(pg_store: str, tmp_path: Path) -> None:
    store = make_url(pg_store).set(password=PASSWORD).render_as_string(hide_password=False)
    desired = copy_example(tmp_path)
    path = desired / "clients" / "northwind-clinic.yaml"
    text = (EXAMPLE / "clients" / "northwind-clinic.yaml").read_text()
    path.write_text(text.replace("placeholder-not-a-secret", SENSITIVE))
    add_clients(pg_store, EXAMPLE_IDS.values())
    seen: list[str] = []

    def run(*args: str) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", *args, "--store", store],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        seen.extend([done.stdout, done.stderr])

    run("init", "--demo")
    with health_server() as health:
        url = health.url.replace("http://", f"http://probe:{HEALTH_PASSWORD}@")
        health.failing.add(EXAMPLE_IDS["northwind-clinic"])
        with (desired / "reconciler.yaml").open("a") as f:
            f.write(
                "\nrollout:\n  waves:\n    - name: canary\n"
                "      select: {profiles: [enterprise]}\n"
                f"      gate:\n        checks:\n          - http: {{url: '{url}'}}\n"
                "        retries: 0\n"
            )
        for fmt in ("text", "json", "markdown"):
            run("rollout", "--dir", str(desired), "--format", fmt)
        run("rollout", "--yes", "--dir", str(desired), "--format", "json")
    for fmt in ("text", "json", "markdown"):
        run("rollout", "status", "1", "--format", fmt)
    # The rollout row keeps its waves as configured (a resume runs the same checks), like the
    # desired state in git; its command line has the store password hidden.
    seen.extend(str(r) for r in run_sql(pg_store, "SELECT command FROM reconciler_rollouts"))
    seen.extend(str(row) for row in run_sql(pg_store, "SELECT * FROM reconciler_rollout_gates"))
    assert any("answered HTTP 503" in s for s in seen)  # the gate ran and failed
    for text in seen:
        assert PASSWORD not in text
        assert HEALTH_PASSWORD not in text
        assert SENSITIVE not in text
