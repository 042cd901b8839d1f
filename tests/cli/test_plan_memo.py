"""The plan memo (issue 15): clients planned unchanged are remembered with their desired cache
key and their live fingerprint (PostgreSQL md5 of their rows); a later plan skips reading and
diffing them only while both are the same. Every plan here must equal a `--no-cache` plan."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path

import pytest

from reconciler.desired import load, secrets
from reconciler.live.engine import make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import ORIGINAL_SQL, add_clients, raw_connect, run_sql

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


def test_each_store_keeps_its_own_memo(
    pg_store: str, pg_store_bare: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two stores holding the same client ids, planned in turn from one tree: neither store's
    remembered clients push out the other's."""
    other = pg_store_bare
    with raw_connect(other) as conn:
        conn.execute(ORIGINAL_SQL.read_text())
    init(make_engine(other))
    desired = str(copy_example(tmp_path))
    for store in (pg_store, other):
        add_clients(store, EXAMPLE_IDS.values())
        assert invoke(capsys, "apply", "--yes", "--store", store, "--dir", desired).code == 0
        _check(capsys, store, desired)  # records the store's unchanged clients
    for store in (pg_store, other, pg_store):
        _, remembered = _check(capsys, store, desired)
        assert remembered >= 3, store


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


LAKESIDE = EXAMPLE_IDS["lakeside-vets"]  # strategy: preserve, so never written


def _informational(err: str) -> int:
    return sum(int(n) for n in re.findall(r"(\d+) with informational changes by the memo", err))


def test_memo_replays_informational_plans_until_their_live_rows_change(
    pg_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A `preserve` client's plan shows the same changes on every run and writes nothing: the
    memo answers it with its remembered changes, exactly as a plan without the cache shows
    them, and plans it again once its live rows change."""
    desired = str(copy_example(tmp_path))
    add_clients(pg_store, EXAMPLE_IDS.values())
    assert invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", desired).code == 0
    # The old application keeps a legacy row for it (preserve never wrote one).
    run_sql(
        pg_store,
        "INSERT INTO client_app_overrides (client_id, modules_enabled, theme_overrides) "
        """VALUES (%s, '["documents"]', '{"primary_color": "#000000", "font": "serif"}')""",
        (LAKESIDE,),
    )
    capsys.readouterr()
    first = invoke(
        capsys, "--debug", "plan", "--store", pg_store, "--dir", desired, "--format", "json"
    )
    before = _informational(first.err)  # summit-health's `preserve` module, from the apply
    shown = [c for c in json.loads(first.out)["clients"] if c["client_id"] == LAKESIDE]
    assert [c["writes"] for c in shown] == [False]
    assert {ch["informational"] for ch in shown[0]["changes"]} == {True}

    warm = invoke(
        capsys, "--debug", "plan", "--store", pg_store, "--dir", desired, "--format", "json"
    )
    assert _informational(warm.err) == before + 1
    assert warm.out == first.out
    cold = invoke(capsys, "plan", "--no-cache", "--store", pg_store, "--dir", desired)
    text = invoke(capsys, "plan", "--store", pg_store, "--dir", desired)
    assert (text.code, text.out) == (cold.code, cold.out)

    # The old application writes the row again: other old values, planned again.
    run_sql(
        pg_store,
        'UPDATE client_app_overrides SET theme_overrides = \'{"primary_color": "#111111"}\'::jsonb '
        "WHERE client_id = %s",
        (LAKESIDE,),
    )
    after, _ = _check(capsys, pg_store, desired)
    assert after != warm.out
    assert "#111111" in after
    assert "#000000" not in after


def test_a_damaged_remembered_plan_is_planned_again_with_one_warning(
    pg_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = str(copy_example(tmp_path))
    add_clients(pg_store, EXAMPLE_IDS.values())
    assert invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", desired).code == 0
    cold = _plan(capsys, pg_store, desired)  # remembers lakeside-vets' plan
    cache = Path(os.environ["RECONCILER_CACHE_DIR"]) / "desired.sqlite"
    with sqlite3.connect(cache) as conn:
        changed = conn.execute(
            "UPDATE insync SET value = replace(value, '#', '%') WHERE value LIKE '%#%'"
        ).rowcount
    assert changed == 1
    capsys.readouterr()
    damaged = invoke(capsys, "plan", "--store", pg_store, "--dir", desired, "--format", "json")
    assert damaged.out == cold
    assert damaged.err.count("ignored and rebuilt") == 1
    assert _plan(capsys, pg_store, desired) == cold  # and the rebuilt cache answers alike


NORTHWIND = EXAMPLE_IDS["northwind-clinic"]  # smtp_password: {secret: {file: ...}}


def _settled(path: Path) -> None:
    """Wait until `path` last changed more than 2 s ago: only then is its stamp trusted."""
    changed = max(path.stat().st_mtime_ns, path.stat().st_ctime_ns)
    time.sleep(max(0.0, 2.1 - (time.time_ns() - changed) / 1e9))


def test_memo_keys_a_secret_file_clients_plan_on_the_files_stamp(
    pg_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A client whose secret comes from a file is remembered with that file's stamp (never
    its value); a new value in the file is planned again, as without the cache."""
    desired = copy_example(tmp_path)
    secret = desired / "secrets" / "northwind-smtp-password"
    add_clients(pg_store, EXAMPLE_IDS.values())
    assert invoke(capsys, "apply", "--yes", "--store", pg_store, "--dir", str(desired)).code == 0
    for path in (desired / "secrets").iterdir():
        _settled(path)
    _check(capsys, pg_store, str(desired))
    capsys.readouterr()
    warm = invoke(capsys, "--debug", "plan", "--store", pg_store, "--dir", str(desired))
    # Every client: lakeside-vets and summit-health (`preserve`) with informational changes.
    assert (_remembered(warm.err), _informational(warm.err)) == (4, 2)
    before, _ = _check(capsys, pg_store, str(desired))
    assert NORTHWIND not in before

    secret.write_text("a-new-password\n")
    _settled(secret)
    after, _ = _check(capsys, pg_store, str(desired))
    northwind = [c for c in json.loads(after)["clients"] if c["client_id"] == NORTHWIND]
    assert [(ch["path"], ch["sensitive"]) for c in northwind for ch in c["changes"]] == [
        (["smtp", "smtp_password"], True)
    ]
    assert "a-new-password" not in after
    cache = Path(os.environ["RECONCILER_CACHE_DIR"]) / "desired.sqlite"
    assert b"a-new-password" not in cache.read_bytes()


def test_drift_memo_answers_every_class_but_drifted_and_secret_files_by_their_stamps(
    pg_store: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Never applied and pending clients are remembered too, and clients whose secrets come
    from files (keyed by the files' stamps), not those with a secret from the environment.
    Batches of two: the memo reads and writes the cache batch by batch."""
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
