"""Health checks against a real endpoint and real commands: messages, retries, limits."""

from __future__ import annotations

from pathlib import Path

from reconciler.apply.gate import failed_clients, missing_commands, run_gate
from reconciler.rollout_model import Gate, HealthCheck, Selector, Wave
from tests.rollout_helpers import health_server


def _script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return f"./{name}"


def test_http_status_json_path_and_retries(tmp_path: Path) -> None:
    with health_server() as health:
        health.failing.add("b")
        health.not_ok.add("c")
        gate = Gate(
            checks=(
                HealthCheck(kind="http", url=health.url, json_path="$.ok", equals=True),
                HealthCheck(kind="http", url=health.url, json_path="$.missing.x"),
            ),
            retries=2,
            retry_wait_seconds=0,
        )
        outcomes = run_gate(gate, ["c", "a", "b"], str(tmp_path))
        seen = sorted(health.seen)
    base = f"http://127.0.0.1:{health.port}/health"
    assert [(o.client_id, o.ok, o.error, o.attempts) for o in outcomes] == [
        ("a", True, None, 1),
        ("a", False, f"{base}/a: $.missing.x is missing from the response", 3),
        ("b", False, f"{base}/b answered HTTP 503, expected 200", 3),
        ("b", False, f"{base}/b answered HTTP 503, expected 200", 3),
        ("c", False, f"{base}/c: $.ok is false, expected true", 3),
        ("c", False, f"{base}/c: $.missing.x is missing from the response", 3),
    ]
    assert seen == ["a"] * 4 + ["b"] * 6 + ["c"] * 6
    assert failed_clients(outcomes) == ["a", "b", "c"]


def test_command_exit_code_timeout_and_not_found(tmp_path: Path) -> None:
    fails = _script(tmp_path, "fails.sh", 'echo "db down for $1" >&2\nexit 3\n')
    slow = _script(tmp_path, "slow.sh", "sleep 5\n")
    gate = Gate(
        checks=(
            HealthCheck(kind="command", argv=(fails, "{client_id}")),
            HealthCheck(kind="command", argv=(slow,), timeout_seconds=0.2),
            HealthCheck(kind="command", argv=("./gone.sh",)),
        ),
        retries=0,
    )
    outcomes = run_gate(gate, ["x"], str(tmp_path))
    assert [o.error for o in outcomes] == [
        "exit code 3: db down for x",
        "timed out after 0.2 s",
        "command not found: ./gone.sh",
    ]
    wave = Wave(name="w", select=Selector(percent=100), gate=gate)
    problems = missing_commands([wave], str(tmp_path))
    assert [p.reason for p in problems] == [
        f"check command './gone.sh' not found or not executable ({tmp_path.resolve()}/gone.sh)"
    ]


def test_allowed_failures_as_count_or_share() -> None:
    assert Gate(max_failed_clients=2).allowed_failures(100) == 2
    assert Gate(max_failed_clients="2%").allowed_failures(100) == 2
    assert Gate(max_failed_clients="50%").allowed_failures(3) == 1
    assert Gate(max_failed_clients="2%").allowed_failures(10) == 0
