"""No password from the store URL and no sensitive setting value in any output (SPEC §4, §5, §7).

One walk through every command, on PostgreSQL (SQLite URLs carry no password): validate, plan
in every format, the saved plan file, apply (planned and saved), status, history, history show,
drift, import, revert, and the error paths. The server trusts local connections, so any
password is accepted and only has to stay out of sight.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS, copy_example
from tests.helpers import add_clients, run_sql

pytestmark = pytest.mark.pg

PASSWORD = "S3cr3t-Pa55"
SENSITIVE = "Sm7p-XYZZY-0451"
NORTHWIND = EXAMPLE_IDS["northwind-clinic"]
FORMATS = ("text", "json", "markdown")


class Walk:
    """Runs commands and keeps every byte they printed or wrote, to search for secrets."""

    def __init__(self, tmp_path: Path, store: str, desired: Path) -> None:
        self.tmp_path = tmp_path
        self.store = store
        self.desired = desired
        self.seen: list[tuple[str, str]] = []  # (what, text)

    def run(self, *args: str, code: int | None = 0, env: dict[str, str] | None = None) -> str:
        verbose = ["-v"] if "-v" in args else []  # a group option: logs on stderr
        args = tuple(a for a in args if a != "-v")
        full = [sys.executable, "-m", "reconciler", *verbose, *args]
        result = subprocess.run(
            full, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})}
        )
        label = " ".join(args)
        self.seen += [(f"stdout of {label}", result.stdout), (f"stderr of {label}", result.stderr)]
        if code is not None:
            assert result.returncode == code, (label, result.stdout[-800:], result.stderr[-800:])
        assert "Traceback" not in result.stderr, result.stderr
        return result.stdout

    def keep(self, what: str, text: str) -> None:
        self.seen.append((what, text))

    def s(self, *args: str) -> list[str]:
        """`--store URL --dir DIR` after the arguments."""
        return [*args, "--store", self.store, "--dir", str(self.desired)]


def _with_sensitive(desired: Path, value: str) -> None:
    """The value in the mounted secret file the example's client file refers to (issue 18)."""
    (desired / "secrets" / "northwind-smtp-password").write_text(value + "\n")


def _clear_text(desired: Path, value: str) -> None:
    """The value written in the client file itself (validate refuses it: plaintext forbid)."""
    path = desired / "clients" / "northwind-clinic.yaml"
    text = (EXAMPLE / "clients" / "northwind-clinic.yaml").read_text()
    ref = "{secret: {file: secrets/northwind-smtp-password}}"
    assert ref in text
    path.write_text(text.replace(ref, value))


def _sensitive_schema(desired: Path, rule: str) -> None:
    """Add a JSON Schema rule to the sensitive property, so a value can break it."""
    path = desired / "modules" / "email-integration.yaml"
    text = path.read_text()
    path.write_text(text.replace("sensitive: true", f"{rule}\n          sensitive: true"))


@pytest.mark.slow
def test_no_password_or_sensitive_value_in_any_output(pg_store: str, tmp_path: Path) -> None:
    store = make_url(pg_store).set(password=PASSWORD).render_as_string(hide_password=False)
    assert PASSWORD in store
    desired = copy_example(tmp_path)
    _with_sensitive(desired, SENSITIVE)
    add_clients(pg_store, EXAMPLE_IDS.values())
    w = Walk(tmp_path, store, desired)

    w.run("init", "--store", store, "--demo")
    for fmt in FORMATS:
        w.run("validate", str(desired), "--format", fmt)
        w.run(*w.s("plan", "--format", fmt))
    plan_file = tmp_path / "plan.json"
    w.run(*w.s("plan", "--out", str(plan_file), "--format", "json"))
    w.keep("saved plan", plan_file.read_text())
    w.run(*w.s("apply", str(plan_file), "-v", "--force"))
    for fmt in FORMATS:
        w.run("status", "--store", store, "--dir", str(desired), "--format", fmt)
        w.run("status", "--store", store, "--client", NORTHWIND, "--format", fmt)
        w.run("history", "--store", store, "--format", fmt)
        w.run(*w.s("drift", "--format", fmt))
    for fmt in ("text", "json"):
        w.run("history", "show", "1", "--store", store, "--dir", str(desired), "--format", fmt)
        w.run(
            "history",
            "show",
            "1",
            "--store",
            store,
            "--dir",
            str(tmp_path / "none"),
            "--format",
            fmt,
        )

    # Old code changes the client; drift sees it, heal and a second apply run, all recorded.
    run_sql(
        pg_store,
        "UPDATE client_app_overrides SET theme_overrides = '{}' WHERE client_id = %s",
        [NORTHWIND],
    )
    w.run(*w.s("drift", "--format", "json"), code=2)
    w.run(*w.s("drift", "--heal", "--yes", "--force", "-v"), code=None)
    _with_sensitive(desired, SENSITIVE + "-2")
    w.run(
        *w.s("apply", "--yes", "--force", "-v", "--format", "json"), env={"RECONCILER_STORE": store}
    )
    runs = json.loads(w.run("history", "--store", store, "--format", "json"))
    newest = str(runs["runs"][0]["id"] if isinstance(runs, dict) else runs[0]["id"])
    w.run("history", "show", newest, "--store", store, "--dir", str(desired))
    w.run("revert", newest, "--store", store, "--yes", "--force", "-v", code=None)
    w.run("revert", newest, "--store", store, "--yes", "--format", "json", code=None)
    imported = tmp_path / "imported"
    w.run(
        "import",
        "--store",
        store,
        "--dir",
        str(desired),
        "--out",
        str(imported),
        "--format",
        "json",
        code=None,
    )
    w.run("import", "--store", store, "--dir", str(desired), "--out", str(imported), code=None)
    w.run("history", "--store", store, "--format", "markdown")
    w.keep("history table", repr(run_sql(pg_store, "SELECT * FROM reconciler_runs")))

    # Error paths: unreachable server, missing database, bad URL, stale plan, invalid state.
    unreachable = make_url(store).set(port=1).render_as_string(hide_password=False)
    w.run("plan", "--store", unreachable, "--dir", str(desired), code=1)
    w.run("status", "--store", unreachable, code=1)
    missing_db = make_url(store).set(database="no_such_db_x").render_as_string(hide_password=False)
    w.run("history", "--store", missing_db, code=1)
    w.run("init", "--store", missing_db, code=1)
    w.run(
        "status",
        "--store",
        f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:notaport/x",
        code=1,
    )
    w.run("status", "--store", f"mysql://postgres:{PASSWORD}@127.0.0.1/x", code=1)
    w.run(*w.s("apply", str(plan_file)), code=1)  # stale now
    w.run(*w.s("plan", "--client", "no-such-client"), code=1)
    w.run("revert", "9999", "--store", store, "--yes", code=1)
    w.run("history", "show", "9999", "--store", store, code=1)
    _clear_text(desired, f"{SENSITIVE}\n        smtp_password: {SENSITIVE}")  # duplicate key
    w.run("validate", str(desired), code=1)
    w.run(*w.s("plan"), code=1)
    for rule in (
        "maxLength: 4",
        "pattern: '^[a-z]+$'",
        "enum: [a, b]",
        "format: email",
        "type: integer",
        "const: x",
    ):
        _clear_text(desired, SENSITIVE)
        _sensitive_schema(desired, rule)
        for fmt in FORMATS:
            w.run(
                "validate",
                str(desired),
                "--format",
                fmt,
                code=1 if rule != "format: email" else None,
            )
        w.run(*w.s("plan"), code=None)

    leaks = [
        (what, secret)
        for what, text in w.seen
        for secret in (PASSWORD, SENSITIVE)
        if secret in text
    ]
    report = "\n".join(f"{what.replace(store, 'URL')}: {secret}" for what, secret in leaks)
    assert report == "", report
    assert any("***" in text for _, text in w.seen)  # the store was shown, redacted
