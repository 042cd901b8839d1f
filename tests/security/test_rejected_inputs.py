"""Inputs the database would reject are one clean `error:` line, never "This is a bug"
(issue 18, finding 8): refused by validation or the CLI before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.cli.test_bad_input import everything
from tests.helpers import add_clients, is_pg


@pytest.fixture
def demo(store_url: str, tmp_path: Path) -> tuple[str, str]:
    desired = str(copy_example(tmp_path))
    add_clients(store_url, EXAMPLE_IDS.values())
    from reconciler.live.demo import seed_demo
    from reconciler.live.engine import make_engine

    seed_demo(make_engine(store_url))
    return store_url, desired


def test_history_limit_beyond_the_column(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(capsys, "history", "--store", store_url, "--limit", "9" * 21)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: limit {'9' * 21} is out of range: give 1 to 2147483647\n"
        "hint: history --limit N lists the N newest runs\n"
    )


def test_history_client_that_is_no_uuid(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    result = invoke(capsys, "history", "--store", store_url, "--client", "not-a-uuid")
    if not is_pg(store_url):  # any string is a client id on SQLite: no run changed it
        assert (result.code, result.err) == (0, "")
        return
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: client id 'not-a-uuid' is not a valid UUID\nhint: ")
    assert len(result.err.splitlines()) == 2


@pytest.mark.parametrize("verb", [("apply", "--yes"), ("drift", "--heal", "--yes")])
def test_an_actor_longer_than_the_column_is_refused_before_anything(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str], verb: tuple[str, ...]
) -> None:
    store, desired = demo
    before = everything(store)
    result = invoke(capsys, *verb, "--store", store, "--dir", desired, "--actor", "a" * 300)
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: the actor is 300 characters long; at most 200 are recorded\n"
        "hint: give a shorter --actor (a user name or an email address)\n"
    )
    assert everything(store) == before


def test_an_actor_of_200_characters_is_recorded(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    result = invoke(
        capsys, "apply", "--yes", "--store", store, "--dir", desired, "--actor", "a" * 200
    )
    assert result.code == 0, result.err
    runs = invoke(capsys, "history", "--store", store, "--format", "json").json()["runs"]
    assert runs[0]["actor"] == "a" * 200


def test_a_module_version_longer_than_the_column_fails_validate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    module = desired / "modules" / "analytics.yaml"
    long_version = "1.0.0-" + "a" * 120
    module.write_text(module.read_text().replace("version: 2.3.1", f"version: {long_version}"))
    assert long_version in module.read_text()
    result = invoke(capsys, "validate", str(desired))
    assert result.code == 1
    line = next(li for li in result.out.splitlines() + result.err.splitlines() if "$.version" in li)
    assert line.startswith("modules/analytics.yaml:4:10: $.version: '1.0.0-aaa")
    assert line.endswith(" is 126 characters long; at most 100")


def test_a_store_url_with_a_port_that_is_no_number(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg://postgres:p@ssSECRET@127.0.0.1:notaport/db"
    result = invoke(capsys, "status", "--store", url)
    assert (result.code, result.out) == (1, "")
    assert result.err.splitlines()[0] == (
        "error: invalid store URL 'postgresql+psycopg://postgres:***@127.0.0.1:notaport/db': "
        "the port must be a number"
    )
    assert "SECRET" not in result.err


def test_import_into_an_unwritable_place(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    before = everything(store)
    result = invoke(capsys, "import", "--store", store, "--dir", desired, "--out", "/proc/x")
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: cannot write to /proc/x: No such file or directory\n"
        "hint: give --out a directory you can write to\n"
    )
    assert everything(store) == before
