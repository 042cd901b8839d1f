"""No credential a store URL carries appears anywhere (issue 18, findings 1 and 2).

Every command (init, validate, status, plan incl. --out, apply, history, history show, revert,
drift, import, serve) and every dashboard page and JSON endpoint runs with a store URL holding a
password in its query string (`?password=`, `&sslpassword=`) and, on PostgreSQL, one holding a
password with `@` and `:` in it. The password must not appear in stdout, stderr (logs, `-v`,
`--debug` tracebacks, uvicorn's access log), a written file, or any database table. The
PostgreSQL server trusts local connections, so any password connects.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example
from tests.helpers import add_clients, free_port, is_pg, run_sql
from tests.web.conftest import TOKEN

SECRET = "S3CRETzq"  # a part of every password below, searched for in everything
NORTHWIND = EXAMPLE_IDS["northwind-clinic"]


def query_password_url(clean: str) -> str:
    """`clean` with a password and an sslpassword in its query string."""
    sep = "&" if "?" in clean else "?"
    return f"{clean}{sep}password=pw{SECRET}1&sslpassword=ssl{SECRET}2"


def at_colon_password_url(clean: str) -> str:
    """`clean` with the userinfo password `p@ss:SECRET@x` (unencoded `@` and `:`)."""
    scheme, rest = clean.split("://", 1)
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:p@ss:{SECRET}@x@{host}"


class Scan:
    """Runs commands and keeps everything they printed or wrote."""

    def __init__(self, store: str, desired: Path) -> None:
        self.store = store
        self.desired = desired
        self.seen: list[tuple[str, str]] = []

    def run(self, *args: str, code: int | None = 0, debug: bool = False) -> str:
        extra = ["--debug"] if debug else ["-v"]
        argv = [sys.executable, "-m", "reconciler", *extra, *args]
        env = {**os.environ, "NO_COLOR": "1", "RECONCILER_SERVE_TOKEN": TOKEN}
        result = subprocess.run(argv, capture_output=True, text=True, timeout=180, env=env)
        label = " ".join(args[:3])
        self.keep(f"stdout of {label}", result.stdout)
        self.keep(f"stderr of {label}", result.stderr)
        if code is not None:
            assert result.returncode == code, (label, result.stdout[-800:], result.stderr[-1500:])
        if not debug:
            assert "This is a bug" not in result.stderr, result.stderr[-1500:]
        return result.stdout

    def keep(self, what: str, text: str) -> None:
        self.seen.append((what, text))

    def leaks(self) -> list[str]:
        return [what for what, text in self.seen if SECRET in text]


def _tables(clean: str) -> str:
    if is_pg(clean):
        names = run_sql(
            clean,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
        )
    else:
        names = run_sql(clean, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return "\n".join(repr(run_sql(clean, f'SELECT * FROM "{n}"')) for (n,) in names)


def _commands(scan: Scan, tmp_path: Path) -> None:
    store, desired = scan.store, str(scan.desired)
    s = ["--store", store, "--dir", desired]
    scan.run("init", "--store", store, "--demo")
    scan.run("validate", desired)
    for fmt in ("text", "json", "markdown"):
        scan.run("status", *s, "--format", fmt)
        scan.run("plan", *s, "--format", fmt)
    plan_file = tmp_path / "plan.json"
    scan.run("plan", *s, "--out", str(plan_file))
    scan.keep("saved plan", plan_file.read_text())
    scan.run("apply", str(plan_file), *s, "--force", "--actor", "scan")
    client_file = scan.desired / "clients" / "bright-smiles.yaml"
    client_file.write_text(client_file.read_text().replace('"#f5a623"', '"#000000"'))
    scan.run("apply", *s, "--yes", "--force", "--reason", f"rotate {store}", debug=True)
    for fmt in ("text", "json", "markdown"):
        scan.run("history", "--store", store, "--format", fmt)
        scan.run("drift", *s, "--format", fmt)
    scan.run("history", "show", "2", *s, "--format", "json")
    scan.run("history", "show", "2", *s)
    scan.run("revert", "2", "--store", store, "--yes", "--force")
    out = tmp_path / "imported"
    scan.run("import", *s, "--out", str(out))
    for path in sorted(out.rglob("*")):
        if path.is_file():
            scan.keep(f"imported {path.name}", path.read_text())
    # error paths, with and without --debug: a missing run, a stale plan, an unusable store
    scan.run("history", "show", "999", "--store", store, code=1)
    scan.run("history", "show", "999", "--store", store, code=1, debug=True)
    scan.run("apply", str(plan_file), *s, code=1, debug=True)
    broken = store.replace("/reconciler_test_", "/no_such_").replace("store.db", "none/s.db")
    scan.run("status", "--store", broken, code=None, debug=True)


def _dashboard(scan: Scan, clean: str) -> None:
    port = free_port()
    argv = [sys.executable, "-m", "reconciler", "serve", "--port", str(port)]
    argv += ["--store", scan.store, "--dir", str(scan.desired)]
    env = {**os.environ, "RECONCILER_SERVE_TOKEN": TOKEN}
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    base = f"http://127.0.0.1:{port}"
    auth = {"authorization": f"Bearer {TOKEN}"}
    try:
        with httpx.Client(base_url=base, timeout=60) as http:
            for _ in range(300):
                try:
                    http.get("/api/history")
                    break
                except httpx.TransportError:
                    assert proc.poll() is None
                    time.sleep(0.1)
            paths = [
                "/",
                f"/clients/{NORTHWIND}",
                "/plan",
                "/plan?format=markdown",
                "/history",
                "/runs/1",
                "/runs/3",
                "/runs/999",
                "/api/drift",
                f"/api/clients/{NORTHWIND}",
                "/api/plan",
                "/api/history",
                "/api/history/3",
                "/api/history/999",
            ]
            for path in paths:
                scan.keep(f"GET {path}", http.get(path).text)
            scan.keep("refresh", http.get("/api/drift?refresh=1", headers=auth).text)
            done = http.post("/api/history/3/revert", json={"force": True}, headers=auth)
            assert done.status_code == 200, done.text
            scan.keep("API revert", done.text)
            scan.keep("history after", http.get("/history").text)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    scan.keep("serve stdout", out)
    scan.keep("serve stderr", err)
    assert "GET /api/history" in out + err  # the access log was on


@pytest.mark.slow
@pytest.mark.parametrize("form", ["query", "at-colon"])
def test_no_store_password_anywhere(
    form: str, store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if form == "at-colon" and not is_pg(store_url):
        pytest.skip("a SQLite URL has no host, so no userinfo password")
    make = query_password_url if form == "query" else at_colon_password_url
    store = make(store_url)
    assert SECRET in store
    monkeypatch.delenv("RECONCILER_STORE")
    add_clients(store_url, EXAMPLE_IDS.values())
    scan = Scan(store, copy_example(tmp_path))
    _commands(scan, tmp_path)
    _dashboard(scan, store_url)
    scan.keep("database", _tables(store_url))
    assert scan.leaks() == []
    runs = json.loads(scan.run("history", "--store", store, "--format", "json"))
    assert runs["runs"][0]["kind"] == "revert"
    shown = runs["runs"][0]["store"]
    assert "***" in shown
    assert re.sub(r"\*\*\*", "", shown).count("@") <= 1
