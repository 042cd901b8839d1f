"""The dashboard off loopback and under attack (issue 18, findings 4 and 6): strict request
bodies, allowed Host names, long tokens, throttled wrong tokens, a token-guarded recompute,
and tokens in URLs refused and never logged."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from bench.serving import serving
from reconciler.errors import ReconcilerError
from reconciler.web.app import ServeConfig, create_app
from reconciler.web.security import MAX_FAILURES, RedactQuery, Throttle
from tests.helpers import free_port
from tests.web.conftest import DRIFTED, TOKEN, Fleet, csrf_from, drift_legacy
from tests.web.test_revert import snapshot
from tests.web.test_serve_cli import base_env

AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"force": "false"}', '"force" must be true or false (a JSON boolean), not the string'),
        ('{"force": 0}', '"force" must be true or false (a JSON boolean), not a number'),
        ('{"force": null}', '"force" must be true or false (a JSON boolean), not null'),
        ('{"forse": true}', "unknown key(s) in the body: 'forse'"),
        ('{"clients": "abc"}', '"clients" must be a list of client id strings'),
        ('{"clients": [1]}', '"clients" must be a list of client id strings'),
        ('{"reason": ["x"]}', '"reason" must be a string, not an array'),
        ('{"actor": "' + "a" * 201 + '"}', '"actor" is 201 characters long; at most 200'),
        ("[]", "the body must be a JSON object, not an array"),
        ('"force"', "the body must be a JSON object, not the string"),
        ("{force: true}", "the body is not valid JSON"),
    ],
)
def test_api_revert_body_is_validated_strictly(
    fleet: Fleet, http: httpx.Client, body: str, message: str
) -> None:
    before = snapshot(fleet.store_url)
    headers = {**AUTH, "content-type": "application/json"}
    response = http.post("/api/history/1/revert", content=body, headers=headers)
    assert response.status_code == 400, response.text
    data = response.json()
    assert data["error"].startswith(message), data
    assert data["error"].endswith(": nothing was reverted")
    assert '"force": false' in data["hint"]
    assert snapshot(fleet.store_url) == before  # the drifted client was not overwritten


def test_api_revert_with_force_false_refuses_the_drifted_client(
    fleet: Fleet, http: httpx.Client
) -> None:
    before = snapshot(fleet.store_url)
    response = http.post("/api/history/1/revert", json={"force": False}, headers=AUTH)
    assert response.status_code == 409
    drifted = [c for c in response.json()["clients"] if c["client_id"] == DRIFTED]
    assert drifted[0]["outcome"] == "stale"
    legacy = {r["client_id"]: r for r in snapshot(fleet.store_url)[0]}
    assert legacy[DRIFTED] == {r["client_id"]: r for r in before[0]}[DRIFTED]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"force": "false"}, 'field "force" is a checkbox: "on" or absent'),
        ({"force": "on", "forse": "on"}, "unknown field(s) in the form: 'forse'"),
        ({"actor": "a" * 201}, '"actor" is 201 characters long; at most 200'),
    ],
)
def test_form_revert_is_validated_strictly(
    fleet: Fleet, http: httpx.Client, fields: dict[str, str], message: str
) -> None:
    before = snapshot(fleet.store_url)
    data = {"csrf_token": csrf_from(http.get("/runs/1").text), "token": TOKEN, **fields}
    response = http.post("/runs/1/revert", data=data)
    assert response.status_code == 400
    assert message.replace('"', "&#34;").replace("'", "&#39;") in response.text
    assert snapshot(fleet.store_url) == before


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_wrong_tokens_are_throttled_per_address(fleet: Fleet, http: httpx.Client) -> None:
    before = snapshot(fleet.store_url)
    wrong = {"authorization": "Bearer " + "w" * 40}
    codes = [
        http.post("/api/history/1/revert", json={}, headers=wrong).status_code
        for _ in range(MAX_FAILURES + 2)
    ]
    assert codes == [403] * MAX_FAILURES + [429, 429]
    # Locked out: even the right token waits, so guessing cannot go on.
    response = http.post("/api/history/1/revert", json={"force": True}, headers=AUTH)
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["error"].startswith("too many wrong tokens: try again in ")
    data = {"csrf_token": csrf_from(http.get("/runs/1").text), "token": TOKEN, "force": "on"}
    assert http.post("/runs/1/revert", data=data).status_code == 429
    assert http.get("/api/drift?refresh=1", headers=AUTH).status_code == 429
    assert snapshot(fleet.store_url) == before


def test_throttle_forgets_failures_after_the_window() -> None:
    now = [1000.0]
    throttle = Throttle(limit=3, window=60.0, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.wait("10.0.0.1") == 0
        throttle.failed("10.0.0.1")
    assert throttle.wait("10.0.0.1") == 60.0
    assert throttle.wait("10.0.0.2") == 0  # another address is not held back
    now[0] += 59.5
    assert throttle.wait("10.0.0.1") == 0.5
    now[0] += 0.5
    assert throttle.wait("10.0.0.1") == 0


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_drift_refresh_needs_the_token(fleet: Fleet, http: httpx.Client) -> None:
    cached = http.get("/api/drift").json()
    drift_legacy(fleet.store_url, fleet_client(cached, "in_sync"), ["analytics"])
    for headers, status in (({}, 401), ({"authorization": "Bearer " + "w" * 40}, 403)):
        response = http.get("/api/drift?refresh=1", headers=headers)
        assert response.status_code == status
        assert "nothing was refreshed" in response.json()["error"] or status == 401
    assert http.get("/api/drift").json() == cached  # no recompute happened
    refreshed = http.get("/api/drift?refresh=1", headers=AUTH)
    assert refreshed.status_code == 200
    assert refreshed.json()["summary"] != cached["summary"]


def fleet_client(report: dict[str, object], cls: str) -> str:
    clients = report["clients"]
    assert isinstance(clients, list)
    return str(next(c["client_id"] for c in clients if cls in c["classes"]))


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "path", ["/api/drift?token=" + TOKEN, "/api/drift?refresh=1&access_token=" + TOKEN]
)
def test_a_token_in_the_url_is_refused(fleet: Fleet, http: httpx.Client, path: str) -> None:
    response = http.get(path)
    assert response.status_code == 400
    assert response.json()["error"].startswith("a token in the URL is refused")
    response = http.post(path.replace("/api/drift", "/api/history/1/revert"), json={})
    assert response.status_code == 400


def test_access_log_masks_a_token_in_the_query() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "GET", f"/api/drift?refresh=1&token={TOKEN}", "1.1", 400),
        None,
    )
    assert RedactQuery().filter(record)
    assert TOKEN not in record.getMessage()
    assert "/api/drift?refresh=1&token=*** HTTP/1.1" in record.getMessage()


def test_a_logged_traceback_is_masked_too() -> None:
    try:
        raise RuntimeError("cannot reach postgresql://u:S3CRET@h/db?password=S3CRET")
    except RuntimeError:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "Exception", None, sys.exc_info()
        )
    assert RedactQuery().filter(record)
    text = logging.Formatter().format(record)
    assert "S3CRET" not in text
    assert "postgresql://u:***@h/db?password=***" in text


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_served_access_log_never_holds_the_token(fleet: Fleet) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "reconciler", "serve", "--port", str(port)]
    argv += ["--store", fleet.store_url, "--dir", fleet.desired_dir]
    env = {**base_env(), "RECONCILER_SERVE_TOKEN": TOKEN}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                httpx.get(base + "/api/history", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None
                time.sleep(0.1)
        assert httpx.get(f"{base}/api/drift?token={TOKEN}", timeout=30).status_code == 400
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "GET /api/drift?token=*** HTTP/1.1" in err
    assert TOKEN not in out + err


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_dns_rebinding_is_refused(fleet_config: ServeConfig) -> None:
    with serving(fleet_config) as base, httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/history").status_code == 200
        rebound = http.get("/history", headers={"host": "attacker.example"})
        assert rebound.status_code == 400
        revert = http.post(
            "/api/history/1/revert",
            json={"force": True},
            headers={**AUTH, "host": "attacker.example"},
        )
        assert revert.status_code == 400


@pytest.fixture
def fleet_config(fleet: Fleet) -> ServeConfig:
    return ServeConfig(
        store_url=fleet.store_url,
        desired_dir=fleet.desired_dir,
        token=TOKEN,
        host="0.0.0.0",
        allowed_hosts=("127.0.0.1", "reconciler.example.com"),
    )


@pytest.mark.parametrize(
    ("host", "allowed", "token", "message"),
    [
        ("0.0.0.0", (), TOKEN, "serving on 0.0.0.0 needs at least one --allowed-host"),
        ("10.1.2.3", (), TOKEN, "serving on 10.1.2.3 needs at least one --allowed-host"),
        ("0.0.0.0", ("*",), TOKEN, "--allowed-host '*' accepts any Host header"),
        (
            "127.0.0.1",
            (),
            "x",
            "RECONCILER_SERVE_TOKEN is too short: 1 characters, at least 32 needed",
        ),
        ("127.0.0.1", (), "y" * 31, "RECONCILER_SERVE_TOKEN is too short: 31 characters"),
    ],
)
def test_unsafe_serve_options_are_refused(
    host: str, allowed: tuple[str, ...], token: str, message: str, tmp_path: Path
) -> None:
    config = ServeConfig(
        store_url=f"sqlite:///{tmp_path}/x.db", token=token, host=host, allowed_hosts=allowed
    )
    with pytest.raises(ReconcilerError) as caught:
        create_app(config)
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("args", "token", "message"),
    [
        (
            ["--host", "0.0.0.0"],
            TOKEN,
            "error: serving on 0.0.0.0 needs at least one --allowed-host",
        ),
        ([], "short-token", "error: RECONCILER_SERVE_TOKEN is too short: 11 characters"),
    ],
)
def test_serve_refuses_to_start_unsafely(
    args: list[str], token: str, message: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "serve",
            "--store",
            f"sqlite:///{tmp_path}/x.db",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base_env(), "RECONCILER_SERVE_TOKEN": token},
    )
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert "hint: " in result.stderr
    assert "serving" not in result.stderr.splitlines()[-1]


def test_history_of_a_client_id_that_is_no_uuid(fleet: Fleet, http: httpx.Client) -> None:
    """On PostgreSQL client ids are UUIDs: a bad one is the caller's mistake (400), not a 500."""
    for path in ("/api/history?client=not-a-uuid", "/history?client=not-a-uuid"):
        response = http.get(path)
        if fleet.store_url.startswith("sqlite"):
            assert response.status_code == 200
            continue
        assert response.status_code == 400, response.text
        assert "client id &#39;not-a-uuid&#39; is not a valid UUID" in response.text or (
            response.json()["error"] == "client id 'not-a-uuid' is not a valid UUID"
        )
    assert http.get("/api/history?limit=99999999999999999999").status_code == 200  # clamped
