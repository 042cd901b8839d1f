"""The streamed `apply` of a fleet (issue 15), on real SQLite and PostgreSQL: the same rows as
applying a whole Plan, refusals on the last batch before any write, stale checks between the
passes, and memory that holds a batch, not the fleet's plans."""

from __future__ import annotations

import gc
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.gen_fleet import generate
from reconciler import api
from reconciler.api import apply_stream
from reconciler.api.apply_stream import apply_fleet, plan_fleet
from reconciler.apply import transaction
from reconciler.desired import load
from reconciler.live.engine import dispose_engine, make_engine
from reconciler.live.migrate import init
from reconciler.model import ClientLive
from reconciler.plan.model import ClientPlan
from reconciler.results import ClientResult, RunMeta
from tests.cli.cli_helpers import invoke
from tests.helpers import add_clients, is_pg, legacy_rows, registry_rows, run_sql

META = RunMeta(actor="tester", command="pytest", reason="test")
CLIENTS = 40
DESIRED_BATCH = 7  # client files per batch of pass 1: six batches
WRITE_BATCH = 4  # clients per transaction of pass 2


@pytest.fixture(autouse=True)
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "BATCH_SIZE", DESIRED_BATCH)
    monkeypatch.setattr(transaction, "BATCH_SIZE", WRITE_BATCH)


@pytest.fixture
def twin_store(store_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second initialised store of the same kind as `store_url`."""
    if is_pg(store_url):
        yield request.getfixturevalue("pg_store")
        return
    url = f"sqlite:///{tmp_path}/twin.db"
    init(make_engine(url))
    yield url
    dispose_engine(url)


def fleet(tmp_path: Path, *stores: str, merge_only: bool = False) -> tuple[Path, list[str]]:
    """A generated tree of CLIENTS clients known to each store (file order = `ids` order);
    `merge_only`: no client sets a strategy, so nothing is disabled unless a file says so."""
    desired = tmp_path / "fleet"
    ids = generate(CLIENTS, desired, seed=3)
    for url in stores:
        add_clients(url, ids)
    if merge_only:
        for path in (desired / "clients").glob("*.yaml"):
            text = path.read_text(encoding="utf-8")
            path.write_text(re.sub(r"^strategy: \w+\n", "", text, flags=re.M), encoding="utf-8")
    return desired, ids


def last_file(desired: Path) -> Path:
    return sorted((desired / "clients").glob("*.yaml"))[-1]


def dump(url: str) -> dict[str, Any]:
    """What a run leaves in both stores and history, without ids and clocks."""
    legacy = [
        {k: v for k, v in row.items() if k not in ("id", "created_at", "updated_at")}
        for row in legacy_rows(url)
    ]
    history = [
        (str(cid), _json(before), _json(after))
        for cid, before, after in run_sql(
            url,
            "SELECT client_id, before, after FROM reconciler_run_clients ORDER BY client_id",
        )
    ]
    runs = [
        (kind, status, _json(summary))
        for kind, status, summary in run_sql(
            url, "SELECT kind, status, summary FROM reconciler_runs ORDER BY id"
        )
    ]
    catalog = [r[0] for r in run_sql(url, "SELECT id FROM reconciler_modules ORDER BY id")]
    return {
        "legacy": legacy,
        "registry": registry_rows(url),
        "history": history,
        "runs": runs,
        "catalog": catalog,
    }


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def alive(kind: type) -> int:
    gc.collect()
    return sum(isinstance(o, kind) for o in gc.get_objects())


def test_streamed_apply_writes_what_a_whole_plan_writes(
    store_url: str, twin_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desired, ids = fleet(tmp_path, store_url, twin_store)
    secret = "s3cret-only-in-the-store-7f1d"
    (desired / "secrets" / "northwind-smtp-password").write_text(secret + "\n")
    monkeypatch.setattr(apply_stream, "SHOW_ALL", 10)  # finished batches' plans are dropped
    monkeypatch.setattr(apply_stream, "SHOWN", 3)
    whole = api.apply(twin_store, api.plan(twin_store, str(desired)), force=True, meta=META)

    plans_before, lives_before = alive(ClientPlan), alive(ClientLive)
    planned = plan_fleet(store_url, str(desired))
    # Pass 1 kept the three clients it prints (without live or target states) and spooled
    # the rest: no plan and no client state of the fleet outlives its batch.
    assert [p.client_id for p in planned.shown.clients] == sorted(ids)[:3]
    assert alive(ClientPlan) - plans_before == 3
    assert alive(ClientLive) - lives_before == 0
    assert len(planned.spool) == whole.counts["applied"] == planned.summary.clients_changed
    assert planned.hidden == CLIENTS - 3
    raw = planned.spool._file
    raw.seek(0)
    spooled = raw.read()
    assert len(spooled) == planned.spool.size > 0
    assert secret.encode() not in spooled  # sealed: never in clear on disk
    assert b"northwind" not in spooled
    assert ids[0].encode() not in spooled

    peak = 0

    def on_done(result: ClientResult) -> None:
        nonlocal peak
        peak = max(peak, alive(ClientLive) - lives_before)

    with planned:
        streamed = apply_fleet(store_url, planned, force=True, meta=META, on_done=on_done)
    assert [(r.client_id, r.outcome, r.message) for r in streamed.results] == [
        (r.client_id, r.outcome, r.message) for r in whole.results
    ]
    assert [r.client_id for r in streamed.results] == sorted(r.client_id for r in whole.results)
    assert streamed.plan_summary == whole.plan_summary
    assert dump(store_url) == dump(twin_store)
    mail = [
        r["settings"] for r in registry_rows(store_url) if r["module_id"] == "email-integration"
    ]
    assert mail
    assert all(s["smtp"]["smtp_password"] == secret for s in mail)
    # While writing, client states of about one transaction's batch were alive (read, target,
    # read back, the next jobs), never the fleet's.
    assert 0 < peak <= 5 * WRITE_BATCH < whole.counts["applied"]
    assert len(planned.spool) == 0  # deleted with the context
    assert not api.plan(store_url, str(desired)).has_changes


def test_live_state_changed_between_the_passes_is_refused_as_stale(
    store_url: str, tmp_path: Path
) -> None:
    desired, ids = fleet(tmp_path, store_url)
    victim = ids[-1]
    with plan_fleet(store_url, str(desired)) as planned:
        run_sql(
            store_url,
            "INSERT INTO client_app_overrides (id, client_id, modules_enabled) VALUES (%s, %s, %s)",
            ["aaaaaaaa" + victim[8:], victim, '["support"]'],
        )
        report = apply_fleet(store_url, planned, force=True, meta=META)
    outcomes = {r.client_id: r.outcome for r in report.results}
    assert outcomes.pop(victim) == "stale"
    assert set(outcomes.values()) == {"applied"}
    assert [r["modules_enabled"] for r in legacy_rows(store_url) if r["client_id"] == victim] == [
        ["support"]
    ]
    assert victim not in {r["client_id"] for r in registry_rows(store_url)}
    assert api.history(store_url)[0].status == "partial"


def test_a_protected_module_on_the_last_batch_refuses_before_any_write(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired, ids = fleet(tmp_path, store_url, merge_only=True)
    path = last_file(desired)
    text = path.read_text(encoding="utf-8")
    if "\n  support:\n" in text:
        text = text.replace("\n  support:\n", "\n  support:\n    enabled: false\n", 1)
    else:
        text = text.replace("modules:\n", "modules:\n  support:\n    enabled: false\n", 1)
    path.write_text(text, encoding="utf-8")
    before = dump(store_url)

    result = invoke(capsys, "apply", "--yes", "--store", store_url, "--dir", str(desired))

    assert result.code == 1
    assert result.out == ""
    shown = f"{desired}/clients/{path.name}"
    assert result.err.endswith(
        f"{shown}: $.modules.support: client {ids[-1]}: would disable protected module support\n"
        "error: run refused before any write: 1 safety check(s) failed\n"
        "hint: review the plan; rerun with --force (and --reason) to proceed anyway\n"
    ), result.err[-800:]
    assert dump(store_url) == before  # both stores, history and catalog as they were


def test_a_deny_policy_on_the_last_batch_refuses_before_any_write(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired, ids = fleet(tmp_path, store_url)
    (desired / "policies").mkdir()
    (desired / "policies" / "last.yaml").write_text(
        "description: the last client is not to be touched\n"
        "rules:\n"
        "  - id: hands-off\n"
        "    effect: deny\n"
        '    expression: change.kind == "enable" && change.module == "forms"\n'
        "    message: not this one\n"
        f"    scope:\n      clients: [{ids[-1]}]\n",
        encoding="utf-8",
    )
    before = dump(store_url)
    store = ["--store", store_url, "--dir", str(desired)]

    result = invoke(capsys, "apply", "--yes", "--force", *store)

    assert result.code == 1
    assert "error: run refused before any write: --force overrides 1 policy denial(s) only " in (
        result.err
    )
    assert "hands-off: not this one (+ forms" in result.err
    assert dump(store_url) == before
    forced = invoke(capsys, "apply", "--yes", "--force", "--reason", "agreed", *store)
    assert forced.code == 0, forced.err
    assert dump(store_url)["runs"][0][2]["policy_denials_overridden"] == 1


def test_a_large_plan_is_shown_shortened_before_applying(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired, ids = fleet(tmp_path, store_url)
    store = ["--store", store_url, "--dir", str(desired)]
    whole = invoke(capsys, "plan", *store)
    monkeypatch.setattr(apply_stream, "SHOW_ALL", 10)
    monkeypatch.setattr(apply_stream, "SHOWN", 2)

    result = invoke(capsys, "apply", "--yes", "--force", *store)

    assert result.code == 0, result.err
    shown = result.err.split("\n\n")
    first, second = sorted(ids)[:2]
    assert shown[0] == whole.out.split("\n\n")[0]  # the header
    assert shown[1:3] == whole.out.split("\n\n")[1:3]  # the first two clients, as `plan`
    assert f"  {first}  (" in shown[1]
    assert f"  {second}  (" in shown[2]
    assert shown[3] == (
        f"... and {CLIENTS - 2} more clients with changes, not shown (a plan of more than 10 "
        "clients is shortened here; `reconciler plan` shows all)"
    )
    summary = [line for line in whole.out.splitlines() if line.startswith("Plan: ")]
    assert shown[4].splitlines() == summary
    changed = int(summary[0].split()[1])  # "Plan: 36 clients to change, ..."
    assert result.out.count("applied   ") == changed
    assert result.out.endswith(
        f"Apply run 1: {changed} applied, 0 unchanged, 0 refused as stale, 0 failed\n"
    )
