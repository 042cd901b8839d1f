"""Bad command-line input: unknown clients, malformed --shard, damaged or foreign plan files,
huge run ids, unwritable paths. Each is one clear refusal, exit 1, and nothing is written.

Complements test_plan_apply.py (half-truncated, version 2, edited and [] plan files, another
store, `plan --client nope`, `plan --shard 3/2`), which are not repeated here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import fingerprint
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke, saved_plan
from tests.helpers import add_clients, legacy_rows, registry_rows, run_sql

ACME = EXAMPLE_IDS["acme-dental"]
SHARD_HINT = "hint: use K/N with 1 <= K <= N, e.g. --shard 2/8 for the second of eight workers\n"
PLAN_HINT = "hint: create a new one with `reconciler plan --out FILE`\n"


@pytest.fixture
def demo(store_url: str, tmp_path: Path) -> tuple[str, str]:
    desired = str(copy_example(tmp_path))
    add_clients(store_url, EXAMPLE_IDS.values())
    from reconciler.live.demo import seed_demo
    from reconciler.live.engine import make_engine

    seed_demo(make_engine(store_url))
    return store_url, desired


def everything(url: str) -> tuple[Any, ...]:
    runs = run_sql(url, "SELECT id, status FROM reconciler_runs ORDER BY id")
    snaps = run_sql(url, "SELECT count(*) FROM reconciler_run_clients")
    return legacy_rows(url), registry_rows(url), runs, snaps


@pytest.mark.parametrize(
    "verb", [("plan",), ("apply", "--yes"), ("drift",), ("apply", "--yes", "--force")]
)
def test_unknown_client_is_refused_before_anything(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str], verb: tuple[str, ...]
) -> None:
    store, desired = demo
    before = everything(store)
    result = invoke(
        capsys, *verb, "--store", store, "--dir", desired, "--client", ACME, "--client", "ghost"
    )
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        "error: client(s) not in the desired state: ghost\n"
        f"hint: client ids are the client_id of files under {desired}/clients/\n"
    )
    assert everything(store) == before


@pytest.mark.parametrize(
    "shard", ["0/2", "1/0", "a/b", "", "1/2/3", "-1/2", "1.5/2", "2/", "9" * 30 + "/1"]
)
@pytest.mark.parametrize("verb", [("plan",), ("apply", "--yes"), ("drift",)])
def test_malformed_shard_is_refused_by_every_verb(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str], verb: tuple[str, ...], shard: str
) -> None:
    store, desired = demo
    before = everything(store)
    result = invoke(capsys, *verb, "--store", store, "--dir", desired, "--shard", shard)
    assert (result.code, result.out) == (1, "")
    assert result.err == f"error: invalid --shard {shard!r}\n{SHARD_HINT}"
    assert everything(store) == before


def _resealed(text: str, edit: Any) -> str:
    """An edited plan whose checksum is recomputed: only the content checks can refuse it."""
    body = json.loads(text)
    body.pop("checksum")
    edit(body)
    body["checksum"] = fingerprint(body)
    return json.dumps(body)


def _set(key: str, value: Any) -> Any:
    return lambda body: body.__setitem__(key, value)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (
            lambda t: b"",
            "{f}:1:1: not a saved plan (invalid JSON: Expecting value); the file may be truncated",
        ),
        (
            lambda t: t[:1].encode(),
            "{f}:1:2: not a saved plan (invalid JSON: Expecting property name enclosed in double quotes); the file may be truncated",
        ),
        (lambda t: t[:-3].encode(), "{f}:"),  # then line:col of the cut
        (
            lambda t: ("[" * 100_000 + "]" * 100_000).encode(),
            "{f}: not a saved plan (JSON nested too deeply)",
        ),
        (
            lambda t: b"\xff\xfe{}",
            "cannot read plan file {f}: 'utf-8' codec can't decode byte 0xff",
        ),
        (
            lambda t: _resealed(t, _set("format_version", 99)).encode(),
            "{f}: saved plan format_version 99 is not supported (this reconciler reads 1)",
        ),
        (
            lambda t: _resealed(t, _set("format_version", "1")).encode(),
            "{f}: saved plan format_version '1' is not supported (this reconciler reads 1)",
        ),
        (lambda t: _resealed(t, _set("clients", "all")).encode(), "{f}: saved plan is malformed"),
        (
            lambda t: _resealed(t, _set("clients", [{"writes": True}])).encode(),
            "{f}: saved plan is missing 'client_id'",
        ),
        (
            lambda t: _resealed(
                t, lambda b: b["clients"][0].__setitem__("client_id", "ghost")
            ).encode(),
            "{f}: client ghost is no longer in the desired state",
        ),
        (
            lambda t: _resealed(t, _set("kind", "plan")).encode(),
            "{f}: not a saved plan (kind is not 'reconciler-plan')",
        ),
        (
            lambda t: _resealed(t, _set("store", "sqlite:///elsewhere.db")).encode(),
            "{f} was made for store sqlite:///elsewhere.db, not ",
        ),
    ],
    ids=[
        "empty",
        "one-byte",
        "cut-end",
        "deep",
        "not-utf8",
        "v99",
        "version-string",
        "clients-not-list",
        "client-no-id",
        "ghost-client",
        "wrong-kind",
        "other-store",
    ],
)
def test_damaged_or_forged_plan_file_is_refused_with_nothing_written(
    demo: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: Any,
    message: str,
) -> None:
    store, desired = demo
    plan_file = saved_plan(capsys, store, desired, tmp_path)
    plan_file.write_bytes(damage(plan_file.read_text()))
    before = everything(store)
    result = invoke(capsys, "apply", str(plan_file), "--store", store, "--dir", desired)
    assert (result.code, result.out) == (1, "")
    assert result.err.startswith("error: " + message.format(f=plan_file)), result.err
    assert "Traceback" not in result.err
    assert "unexpected" not in result.err
    assert everything(store) == before


def test_forged_live_fingerprint_refuses_only_that_client(
    demo: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    plan_file = saved_plan(capsys, store, desired, tmp_path)

    def forge(body: dict[str, Any]) -> None:
        body["clients"][0]["live_fingerprint"] = "0" * 64

    plan_file.write_text(_resealed(plan_file.read_text(), forge))
    forged = json.loads(plan_file.read_text())["clients"][0]["client_id"]
    result = invoke(
        capsys, "apply", str(plan_file), "--store", store, "--dir", desired, "--format", "json"
    )
    assert result.code == 1
    outcomes = {c["client_id"]: c["outcome"] for c in result.json()["clients"]}
    assert outcomes.pop(forged) == "stale"
    assert set(outcomes.values()) == {"applied"}


def test_a_plan_applied_twice_writes_nothing_the_second_time(
    demo: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    plan_file = saved_plan(capsys, store, desired, tmp_path)
    assert invoke(capsys, "apply", str(plan_file), "--store", store, "--dir", desired).code == 0
    before = (
        legacy_rows(store),
        registry_rows(store),
        run_sql(store, "SELECT count(*) FROM reconciler_run_clients"),
    )
    again = invoke(
        capsys, "apply", str(plan_file), "--store", store, "--dir", desired, "--format", "json"
    )
    assert again.code == 1
    assert {c["outcome"] for c in again.json()["clients"]} == {"stale"}
    assert (
        legacy_rows(store),
        registry_rows(store),
        run_sql(store, "SELECT count(*) FROM reconciler_run_clients"),
    ) == before


def test_run_ids_and_clients_history_does_not_know(
    demo: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    assert (
        invoke(capsys, "apply", "--yes", "--store", store, "--dir", desired, "--client", ACME).code
        == 0
    )
    (run_id,) = run_sql(store, "SELECT max(id) FROM reconciler_runs")[0]
    before = everything(store)
    for run in ("999", str(2**31), "9" * 25):
        for args in (("history", "show", run), ("revert", run, "--yes")):
            result = invoke(capsys, *args, "--store", store)
            assert (result.code, result.out) == (1, "")
            assert (
                result.err
                == f"error: run {run} not found\nhint: list runs with `reconciler history`\n"
            )
    other = EXAMPLE_IDS["bright-smiles"]
    for args in (("history", "show", str(run_id)), ("revert", str(run_id), "--yes")):
        result = invoke(capsys, *args, "--client", other, "--store", store)
        assert (result.code, result.out) == (1, "")
        assert result.err == (
            f"error: run {run_id} did not change client(s) {other}\n"
            f"hint: see `reconciler history show {run_id}`\n"
        )
    assert everything(store) == before


def test_unwritable_plan_out_is_a_clear_error(
    demo: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    target = tmp_path / "missing-dir" / "plan.json"
    result = invoke(capsys, "plan", "--store", store, "--dir", desired, "--out", str(target))
    assert (result.code, result.out) == (1, "")
    assert result.err == (
        f"error: cannot write plan file {target}: No such file or directory\n"
        "hint: choose a writable path for --out\n"
    )
