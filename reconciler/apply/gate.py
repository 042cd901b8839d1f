"""A rollout wave's health gate: every check for every client, bounded, timed out, retried.

HTTP checks GET the URL (stdlib urllib, no extra dependency) and compare the status and,
optionally, a value at a simple JSON path; command checks run argv with {client_id} and count
exit 0 as healthy. A failing check is retried with exponential backoff (tenacity). An
unreachable URL or a missing command is a failed check with a message saying so.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import Problem
from reconciler.model import JSON
from reconciler.plan.waves import check_problem, parse_json_path
from reconciler.redact import redact_urls
from reconciler.rollout_model import Gate, HealthCheck, Wave

MAX_BODY = 1024 * 1024  # a health response larger than this is not read further


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckOutcome:
    client_id: str
    check: str  # the check's label
    ok: bool
    error: str | None = None
    attempts: int = 1

    def row(self) -> dict[str, JSON]:
        return {
            "client_id": self.client_id,
            "check_name": self.check,
            "ok": self.ok,
            "error": self.error,
            "attempts": self.attempts,
        }


def program(check: HealthCheck, root: str) -> str:
    """The program a command check runs: a relative path is relative to the desired state."""
    first = check.argv[0]
    if os.sep in first and not os.path.isabs(first):
        return str(Path(root).resolve() / first)
    return first


def missing_commands(waves: Sequence[Wave], root: str) -> list[Problem]:
    """Command checks whose program cannot be found or run, each at its place in the file."""
    problems = []
    for i, wave in enumerate(waves):
        for check in wave.gate.checks:
            if check.kind != "command":
                continue
            exe = program(check, root)
            found = os.access(exe, os.X_OK) if os.sep in exe else shutil.which(exe) is not None
            if not found:
                reason = f"check command {check.argv[0]!r} not found or not executable"
                if os.sep in exe:
                    reason += f" ({exe})"
                problems.append(check_problem(check, i, reason))
    return problems


def _http(check: HealthCheck, client_id: str) -> str | None:
    url = check.url.replace("{client_id}", urllib.parse.quote(client_id, safe=""))
    headers = {"Accept": "application/json"}
    parts = urllib.parse.urlsplit(url)
    if parts.username is not None:  # user:password@ becomes basic auth, never shown
        user = urllib.parse.unquote(parts.username)
        secret = urllib.parse.unquote(parts.password or "")
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
        url = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))
    request = urllib.request.Request(url, method="GET", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=check.timeout_seconds) as response:
            status, body = response.status, response.read(MAX_BODY)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(MAX_BODY)
        exc.close()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url} unreachable: {reason}"
    if status != check.expect_status:
        return f"{url} answered HTTP {status}, expected {check.expect_status}"
    if check.json_path is None:
        return None
    try:
        value: JSON = json.loads(body)
    except ValueError:
        return f"{url} answered a body that is not JSON"
    for part in parse_json_path(check.json_path) or ():
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return f"{url}: {check.json_path} is missing from the response"
    if value != check.equals:
        return (
            f"{url}: {check.json_path} is {json.dumps(value)}, expected {json.dumps(check.equals)}"
        )
    return None


def _command(check: HealthCheck, client_id: str, root: str) -> str | None:
    argv = [program(check, root), *(a.replace("{client_id}", client_id) for a in check.argv[1:])]
    try:
        done = subprocess.run(
            argv,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=check.timeout_seconds,
            check=False,
        )
    except FileNotFoundError:
        return f"command not found: {check.argv[0]}"
    except PermissionError:
        return f"not executable: {check.argv[0]}"
    except subprocess.TimeoutExpired:
        return f"timed out after {check.timeout_seconds:g} s"
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    tail = f": {lines[-1][:200]}" if lines else ""
    return f"exit code {done.returncode}{tail}"


def run_check(check: HealthCheck, client_id: str, root: str, gate: Gate) -> CheckOutcome:
    """One check for one client, retried with exponential backoff while it fails."""
    from tenacity import Retrying, retry_if_result, stop_after_attempt, wait_exponential

    attempts = 0

    def attempt() -> str | None:
        nonlocal attempts
        attempts += 1
        if check.kind == "http":
            return _http(check, client_id)
        return _command(check, client_id, root)

    retrying = Retrying(
        stop=stop_after_attempt(gate.retries + 1),
        wait=wait_exponential(multiplier=gate.retry_wait_seconds, max=60),
        retry=retry_if_result(lambda error: error is not None),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    error: str | None = retrying(attempt)
    return CheckOutcome(  # a health URL may carry credentials: never stored or shown
        client_id=client_id,
        check=redact_urls(check.label),
        ok=error is None,
        error=None if error is None else redact_urls(error),
        attempts=attempts,
    )


def run_gate(gate: Gate, client_ids: Sequence[str], root: str) -> list[CheckOutcome]:
    """Every check of `gate` for every client, `gate.concurrency` at a time, in stable order."""
    tasks = [(check, cid) for cid in sorted(client_ids) for check in gate.checks]
    with ThreadPoolExecutor(max_workers=max(1, gate.concurrency)) as pool:
        futures = [pool.submit(run_check, check, cid, root, gate) for check, cid in tasks]
        return [f.result() for f in futures]


def failed_clients(outcomes: Sequence[CheckOutcome]) -> list[str]:
    """Clients with at least one failed check, sorted."""
    return sorted({o.client_id for o in outcomes if not o.ok})
