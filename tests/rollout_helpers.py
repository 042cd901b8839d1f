"""A real health endpoint on 127.0.0.1, a real check command, and a demo store for rollouts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reconciler.live.demo import DEMO_LIVE
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients, run_sql

IDS = EXAMPLE_IDS
CHECK_SCRIPT = """#!/bin/sh
# healthy unless the client id is listed in unhealthy.txt next to this script
if grep -qx "$1" "$(dirname "$0")/unhealthy.txt" 2>/dev/null; then
  echo "smoke test failed for $1" >&2
  exit 1
fi
exit 0
"""


@dataclass
class Health:
    """What the endpoint answers: 503 for `failing` ids, {"ok": false} for `not_ok`, else ok;
    requests for `blocking` ids wait until `release` is set."""

    port: int = 0
    failing: set[str] = field(default_factory=set)
    not_ok: set[str] = field(default_factory=set)
    blocking: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    seen: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/health/{{client_id}}"


@contextmanager
def health_server() -> Iterator[Health]:
    health = Health()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            client_id = self.path.rsplit("/", 1)[-1]
            health.seen.append(client_id)
            if client_id in health.blocking:
                health.release.wait(30)
            status = 503 if client_id in health.failing else 200
            body = json.dumps({"ok": client_id not in health.not_ok}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    health.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield health
    finally:
        health.release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def gate_yaml(url: str, *, retries: int = 1, limit: str = "0") -> str:
    return f"""      gate:
        checks:
          - http: {{url: "{url}", json_path: "$.ok", equals: true, timeout_seconds: 2}}
          - command: ["./check.sh", "{{client_id}}"]
        max_failed_clients: {limit}
        retries: {retries}
        retry_wait_seconds: 0
"""


def three_waves(url: str, *, canary_failure: str = "revert_wave", bake: float = 0) -> str:
    """canary (acme-dental, bright-smiles), growth (the other growth clients), everyone."""
    return (
        "\nrollout:\n  waves:\n    - name: canary\n"
        "      select: {clients: [acme-dental, bright-smiles]}\n"
        f"      bake_seconds: {bake}\n" + gate_yaml(url) + f"      on_failure: {canary_failure}\n"
        "    - name: growth\n      select: {profiles: [growth]}\n"
        + gate_yaml(url)
        + "      on_failure: revert_all\n"
        "    - name: everyone\n      select: {percent: 100}\n"
    )


def demo_tree(capsys: pytest.CaptureFixture[str], store: str, tmp: Path, rollout: str) -> Path:
    """The bundled example with `rollout` appended, its check script, and the demo live state."""
    desired = copy_example(tmp)
    with (desired / "reconciler.yaml").open("a", encoding="utf-8") as f:
        f.write(rollout)
    script = desired / "check.sh"
    script.write_text(CHECK_SCRIPT, encoding="utf-8")
    script.chmod(0o755)
    add_clients(store, [c.client_id for c in DEMO_LIVE])
    seeded = invoke(capsys, "init", "--store", store, "--demo")
    assert seeded.code == 0, seeded.err
    return desired


def mark_unhealthy(desired: Path, *names: str) -> None:
    (desired / "unhealthy.txt").write_text("".join(f"{IDS[n]}\n" for n in names))


def rollout_waves(store: str, rollout_id: int = 1) -> list[dict[str, Any]]:
    [(waves,)] = run_sql(store, "SELECT waves FROM reconciler_rollouts WHERE id = %s", [rollout_id])
    return json.loads(waves) if isinstance(waves, str) else list(waves)


def linked_runs(store: str) -> list[tuple[int, int, str, str, int | None]]:
    """(run id, wave, purpose, kind, reverts_run) of every rollout run, oldest first."""
    rows = run_sql(
        store,
        "SELECT l.run_id, l.wave, l.purpose, r.kind, r.reverts_run FROM reconciler_rollout_runs l "
        "JOIN reconciler_runs r ON r.id = l.run_id ORDER BY l.run_id",
    )
    return [
        (int(a), int(b), str(c), str(d), None if e is None else int(e)) for a, b, c, d, e in rows
    ]
