"""Store URL credentials are masked whole, in the display URL and in free text (issue 18, 1, 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.errors import ReconcilerError
from reconciler.live.engine import display_url, parse_url
from reconciler.redact import redact_urls
from tests.cli.cli_helpers import invoke
from tests.helpers import run_sql

PG = "postgresql+psycopg://postgres"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"{PG}@127.0.0.1/db?password=S3CRET", f"{PG}@127.0.0.1/db?password=***"),
        (
            f"{PG}@h/db?options=-cx%3Dy&sslpassword=S3CRET&sslmode=require",
            f"{PG}@h/db?options=-cx%3Dy&sslpassword=***&sslmode=require",
        ),
        (f"{PG}@h/db?PASSWORD=S3CRET&token=S3CRET", f"{PG}@h/db?PASSWORD=***&token=***"),
        (f"{PG}:p@ssS3CRET@host/db", f"{PG}:***@host/db"),
        (f"{PG}:p@ss:S3CRET@x@host:5432/db", f"{PG}:***@host:5432/db"),
        (f"{PG}:pa/ss:S3CRET@host/db?password=S3CRET", f"{PG}:***@host/db?password=***"),
        ("sqlite:///store.db?password=S3CRET", "sqlite:///store.db?password=***"),
        ("sqlite:///reconciler.db", "sqlite:///reconciler.db"),
        (f"{PG}@host:5432/db?application_name=x", f"{PG}@host:5432/db?application_name=x"),
    ],
)
def test_display_url_masks_every_credential(url: str, shown: str) -> None:
    assert display_url(url) == shown
    parsed = display_url(parse_url(url))
    assert "S3CRET" not in parsed
    assert sorted(parsed.partition("?")[2].split("&")) == sorted(shown.partition("?")[2].split("&"))
    assert redact_urls(f"error: store {url} refused") == f"error: store {shown} refused"


def test_a_password_with_at_and_colon_is_read_whole() -> None:
    parsed = parse_url(f"{PG}:p@ss:S3CRET@x@127.0.0.1:5432/db")
    assert (parsed.username, parsed.password) == ("postgres", "p@ss:S3CRET@x")
    assert (parsed.host, parsed.port, parsed.database) == ("127.0.0.1", 5432, "db")


def test_command_lines_are_masked_in_every_spelling() -> None:
    line = (
        f"reconciler plan --store={PG}:p@ss:S3CRET@h/db "
        f"--store '{PG}@h/db?password=S3CRET' env=x?sslpassword=S3CRET"
    )
    assert "S3CRET" not in redact_urls(line)


def test_a_port_that_is_no_number_is_a_clean_error() -> None:
    with pytest.raises(ReconcilerError) as caught:
        parse_url(f"{PG}:p@ssS3CRET@127.0.0.1:notaport/db")
    assert caught.value.message == (
        f"invalid store URL '{PG}:***@127.0.0.1:notaport/db': the port must be a number"
    )


@pytest.mark.parametrize("debug", [False, True])
def test_errors_and_debug_tracebacks_never_show_the_password(debug: bool) -> None:
    urls = [
        f"{PG}:p@ss:S3CRET@127.0.0.1:notaport/db",
        f"{PG}@127.0.0.1:1/db?password=S3CRET",
        "mysql://u:p@S3CRET@h/db?password=S3CRET",
    ]
    for url in urls:
        argv = [sys.executable, "-m", "reconciler", *(["--debug"] if debug else [])]
        result = subprocess.run(
            [*argv, "history", "--store", url], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 1
        assert "S3CRET" not in result.stdout + result.stderr, result.stderr
        assert "This is a bug" not in result.stderr
        assert ("Traceback" in result.stderr) == debug


def test_runs_recorded_before_the_fix_are_shown_masked(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """History rows written by an older version hold the URL in clear: masked when read."""
    clear = "postgresql+psycopg://postgres:p@ss:S3CRET@h/db?password=S3CRET"
    run_sql(
        store_url,
        "INSERT INTO reconciler_runs (kind, started_at, actor, command, store, status) "
        "VALUES ('apply', CURRENT_TIMESTAMP, 'old', %s, %s, 'done')",
        [f"reconciler apply --store {clear}", clear],
    )
    for args in (("history", "--format", "json"), ("history",), ("history", "show", "1")):
        result = invoke(capsys, *args, "--store", store_url)
        assert result.code == 0, result.err
        assert "S3CRET" not in result.out + result.err
    runs = invoke(capsys, "history", "--store", store_url, "--format", "json").json()["runs"]
    shown = "postgresql+psycopg://postgres:***@h/db?password=***"
    assert (runs[0]["store"], runs[0]["command"]) == (shown, f"reconciler apply --store {shown}")
