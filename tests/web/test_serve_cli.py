"""`reconciler serve` as users start it: a subprocess bound to loopback, token on stderr."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.helpers import free_port
from tests.web.conftest import Fleet


@contextmanager
def serve(fleet: Fleet, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reconciler",
            "serve",
            "--port",
            str(port),
            "--store",
            fleet.store_url,
            "--dir",
            fleet.desired_dir,
        ],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                httpx.get(url + "/history", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(30)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RECONCILER_SERVE_TOKEN"}
    return {**env, "NO_COLOR": "1"}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_generated_token_is_printed_once_and_works(fleet: Fleet) -> None:
    with serve(fleet, base_env()) as (url, proc):
        denied = httpx.post(f"{url}/api/history/1/revert", json={"force": True})
        assert denied.status_code == 401
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    lines = [line for line in stderr.splitlines() if "revert token" in line]
    assert len(lines) == 1
    token = lines[0].rsplit(" ", 1)[1]
    assert len(token) >= 32
    assert f"serving {fleet.store_url} at {url}/" in stderr
    with serve(fleet, {**base_env(), "RECONCILER_SERVE_TOKEN": token}) as (url, proc):
        done = httpx.post(
            f"{url}/api/history/1/revert",
            json={"force": True},
            headers={"authorization": f"Bearer {token}"},
            timeout=60,
        )
        assert done.status_code == 200
        assert done.json()["run_id"] == 2
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert "revert token" not in stderr
    assert token not in stderr


def test_uninitialised_store_fails_at_start(tmp_path: os.PathLike[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "serve", "--store", f"sqlite:///{tmp_path}/empty.db"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert "revert token" not in result.stderr
