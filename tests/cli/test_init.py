"""`reconciler init [--demo]`: what it did on stdout, errors without passwords on stderr."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from reconciler.live.demo import DEMO_LIVE
from tests.cli.cli_helpers import invoke
from tests.helpers import add_clients, legacy_rows, registry_rows


def test_init_twice(capsys: pytest.CaptureFixture[str], store_url_bare: str) -> None:
    first = invoke(capsys, "init", "--store", store_url_bare)
    assert (first.code, first.err) == (0, "")
    assert first.out == (
        "created table client_app_overrides\n"
        "applied migration 1: registry, catalog, run history and schema-version tables\n"
        "applied migration 5: rollouts: waves, their runs and gate results\n"
        f"store {store_url_bare} is at schema version 5\n"
    )
    second = invoke(capsys, "init", "--store", store_url_bare)
    assert (second.code, second.err) == (0, "")
    assert second.out == (
        "client_app_overrides exists: left unchanged\n"
        "reconciler tables up to date\n"
        f"store {store_url_bare} is at schema version 5\n"
    )


def test_init_demo_seeds_and_reseeds(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    add_clients(store_url, [c.client_id for c in DEMO_LIVE])
    first = invoke(capsys, "init", "--store", store_url, "--demo")
    assert (first.code, first.err) == (0, "")
    assert (
        "seeded demo live state for 6 clients: acme-dental, bright-smiles, northwind-clinic, "
        "harbor-physio, summit-health, lakeside-vets\n"
    ) in first.out
    rows = (legacy_rows(store_url), registry_rows(store_url))
    assert len(rows[0]) == 5  # acme-dental has no legacy row on purpose
    again = invoke(capsys, "init", "--store", store_url, "--demo")
    assert again.code == 0
    after = (legacy_rows(store_url), registry_rows(store_url))
    strip = [{k: v for k, v in r.items() if k != "updated_at"} for r in after[0]]
    assert strip == [{k: v for k, v in r.items() if k != "updated_at"} for r in rows[0]]
    assert after[1] == rows[1]


def test_store_from_environment(
    capsys: pytest.CaptureFixture[str], store_url_bare: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECONCILER_STORE", store_url_bare)
    result = invoke(capsys, "init")
    assert result.code == 0
    assert result.out.endswith(f"store {store_url_bare} is at schema version 5\n")


def test_unreachable_store_error_hides_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://app:s3cr3t@127.0.0.1:1/prod"
    result = invoke(capsys, "init", "--store", url)
    assert (result.code, result.out) == (1, "")
    assert "s3cr3t" not in result.err
    lines = result.err.splitlines()
    assert lines[0].startswith("error: store postgresql+psycopg://app:***@127.0.0.1:1/prod: ")
    assert lines[1].startswith("hint: check that the database server is running and reachable")


@pytest.mark.pg
def test_password_in_a_working_url_is_never_printed(
    capsys: pytest.CaptureFixture[str], pg_store: str
) -> None:
    url = make_url(pg_store).set(password="s3cr3t").render_as_string(hide_password=False)
    result = invoke(capsys, "init", "--store", url)  # trust auth: the password is ignored
    assert result.code == 0
    assert "s3cr3t" not in result.out + result.err
    assert "postgres:***@" in result.out
