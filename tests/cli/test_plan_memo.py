"""The plan memo (issue 15): clients planned unchanged are remembered with their desired cache
key and their live fingerprint (PostgreSQL md5 of their rows); a later plan skips reading and
diffing them only while both are the same. Every plan here must equal a `--no-cache` plan."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from reconciler.desired import load, secrets
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients, run_sql

pytestmark = pytest.mark.pg
BRIGHT = EXAMPLE_IDS["bright-smiles"]


def _plan(capsys: pytest.CaptureFixture[str], store: str, desired: str, *extra: str) -> str:
    result = invoke(capsys, *extra, "plan", "--store", store, "--dir", desired, "--format", "json")
    assert result.code in (0, 2), result.err
    return result.out


def _remembered(err: str) -> int:
    return sum(int(n) for n in re.findall(r"(\d+) unchanged by the memo", err))


def _check(capsys: pytest.CaptureFixture[str], store: str, desired: str) -> tuple[str, int]:
    """The warm plan (with --debug: how many clients the memo answered) and --no-cache's."""
    capsys.readouterr()
    warm = invoke(capsys, "--debug", "plan", "--store", store, "--dir", desired, "--format", "json")
    cold = invoke(
        capsys, "plan", "--no-cache", "--store", store, "--dir", desired, "--format", "json"
    )
    assert warm.code == cold.code
    assert warm.out == cold.out
    return warm.out, _remembered(warm.err)


def test_memo_answers_only_while_live_rows_and_desired_files_are_the_same(
    pg_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = str(copy_example(tmp_path))
    add_clients(pg_store, EXAMPLE_IDS.values())
    applied = invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", desired)
    assert applied.code == 0, applied.err

    _, first = _check(capsys, pg_store, desired)  # records the unchanged clients
    assert first == 0
    before, remembered = _check(capsys, pg_store, desired)
    assert remembered >= 3  # clients without secret references are answered by the memo
    assert BRIGHT not in before

    # The old application rewrites one client's legacy list: the memo must not answer it.
    run_sql(
        pg_store,
        "UPDATE client_app_overrides SET modules_enabled = modules_enabled - 0 "
        "WHERE client_id = %s",
        (BRIGHT,),
    )
    after, _ = _check(capsys, pg_store, desired)
    assert BRIGHT in after

    # Written back as it was (only updated_at differs): unchanged again, still not stale.
    invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", desired)
    again, _ = _check(capsys, pg_store, desired)
    assert again == before

    # A registry setting changed out of band.
    run_sql(
        pg_store,
        "UPDATE reconciler_client_modules SET settings = jsonb_set(settings, '{channel}', '\"fax\"') "
        "WHERE client_id = %s AND module_id = 'support'",
        (BRIGHT,),
    )
    registry, _ = _check(capsys, pg_store, desired)
    assert BRIGHT in registry

    # A profile every client may use changes: the desired key changes, so no memo answer.
    invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", desired)
    _check(capsys, pg_store, desired)
    profile = Path(desired) / "profiles" / "foundation.yaml"
    profile.write_text(profile.read_text().replace("max_workflows: 5", "max_workflows: 6"))
    edited, _ = _check(capsys, pg_store, desired)
    assert edited != before


def _drift(capsys: pytest.CaptureFixture[str], store: str, desired: str) -> tuple[str, int]:
    """The warm drift report (and how many clients the memo answered) and --no-cache's."""
    args = ("drift", "--store", store, "--dir", desired, "--format", "json")
    warm = invoke(capsys, "--debug", *args)
    cold = invoke(capsys, *args[:1], "--no-cache", *args[1:])
    assert (warm.code, warm.out) == (cold.code, cold.out)
    return warm.out, sum(int(n) for n in re.findall(r"(\d+) answered by the memo", warm.err))


def test_drift_memo_answers_in_sync_clients_until_a_write(
    pg_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = str(copy_example(tmp_path))
    add_clients(pg_store, EXAMPLE_IDS.values())
    assert invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", desired).code == 0
    _, first = _drift(capsys, pg_store, desired)
    assert first == 0
    in_sync, remembered = _drift(capsys, pg_store, desired)
    assert remembered >= 3
    run_sql(
        pg_store,
        "UPDATE client_app_overrides SET modules_enabled = '[]'::jsonb WHERE client_id = %s",
        (BRIGHT,),
    )
    drifted, _ = _drift(capsys, pg_store, desired)
    assert drifted != in_sync
    assert '"drifted": 1' in drifted
    # Healed by a new run: in sync again, with the new run as its last run.
    assert invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", desired).code == 0
    healed, _ = _drift(capsys, pg_store, desired)
    assert '"drifted": 0' in healed
    # History is the drift reference: without the client's runs it was never applied, though
    # its live rows did not change.
    run_sql(pg_store, "DELETE FROM reconciler_run_clients WHERE client_id = %s", (BRIGHT,))
    forgotten, _ = _drift(capsys, pg_store, desired)
    before, after = json.loads(healed)["summary"], json.loads(forgotten)["summary"]
    assert after["never_applied"] == before["never_applied"] + 1


def test_drift_memo_answers_every_class_but_drifted_and_secret_files_by_their_stamps(
    pg_store: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never applied and pending clients are remembered too, and clients whose secrets come
    from files (keyed by the files' stamps), not those with a secret from the environment.
    Batches of two: the next batch is read ahead while the memo reads and writes the cache."""
    monkeypatch.setattr(secrets, "RACY_NS", 0)  # the files were written just now
    monkeypatch.setattr(load, "BATCH_SIZE", 2)
    desired = copy_example(tmp_path)
    summit = desired / "clients" / "summit-health.yaml"
    key = (desired / "secrets" / "summit-health-api-key").read_text().strip()
    summit.write_text(
        summit.read_text().replace(
            "{secret: {file: secrets/summit-health-api-key}}", "{secret: {env: SUMMIT_KEY}}"
        )
    )
    monkeypatch.setenv("SUMMIT_KEY", key)
    add_clients(pg_store, EXAMPLE_IDS.values())
    store, tree = pg_store, str(desired)

    _drift(capsys, store, tree)  # remembers
    never, remembered = _drift(capsys, store, tree)
    assert json.loads(never)["summary"]["never_applied"] == 6
    assert remembered == 5  # all but summit-health (a secret from the environment)

    assert invoke(capsys, "apply", "--yes", "--store", store, "--dir", tree).code == 0
    _drift(capsys, store, tree)
    in_sync, remembered = _drift(capsys, store, tree)
    summary = {"clients": 6, "drifted": 0, "in_sync": 5, "never_applied": 1, "pending": 0}
    assert json.loads(in_sync)["summary"] == summary  # one client had nothing to write
    assert remembered == 5

    # A rotated secret file: its client is pending (its last write holds the old value).
    (desired / "secrets" / "northwind-smtp-password").write_text("rotated-password\n")
    pending, remembered = _drift(capsys, store, tree)
    assert json.loads(pending)["summary"]["pending"] == 1
    assert remembered == 4  # the new stamp is not known yet
    again, remembered = _drift(capsys, store, tree)
    assert (again, remembered) == (pending, 5)
