"""Renamed modules through the CLI on both stores (issue 13): `replaces: [analytics-legacy]` in
modules/analytics.yaml makes the legacy list's old id read as `analytics` in plan, apply,
import and status; a rename is one change; validate rejects ids claimed twice and cycles."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.compat import unified_modules
from reconciler.live.engine import make_engine
from reconciler.live.locks import client_transaction
from reconciler.live.state import write_live
from reconciler.model import ClientLive, LegacyRow, RegistryModule
from tests.cli.cli_helpers import copy_example, invoke
from tests.helpers import add_clients, legacy_rows, registry_rows, run_sql

CID = "5f1d8a52-7c1e-4a39-9a57-2b1f0c4d6e01"
OTHER = "5f1d8a52-7c1e-4a39-9a57-2b1f0c4d6e02"
# The example's analytics settings for every client (default_settings, then `defaults:`).
ANALYTICS = {"tracking_level": "standard", "retention_days": 90, "dashboards": ["overview"]}
SETTINGS = "legacy:\n  defaults: [analytics, automation, integrations, support]\nstrategy: merge\n"


def renamed_tree(tmp_path: Path, *, plain_settings: bool = False) -> Path:
    """The example's catalog with `analytics` replacing `analytics-legacy`, no client files."""
    desired = copy_example(tmp_path)
    for path in (desired / "clients").glob("*.yaml"):
        path.unlink()
    module = desired / "modules" / "analytics.yaml"
    module.write_text(module.read_text() + "replaces: [analytics-legacy]\n")
    if plain_settings:  # no `defaults:` layer: the client file alone says what is wanted
        (desired / "reconciler.yaml").write_text(SETTINGS)
    return desired


def seed(store: str, client_id: str, modules: tuple[str, ...], **registry: RegistryModule) -> None:
    add_clients(store, [client_id])
    live = ClientLive(
        client_id=client_id, legacy=LegacyRow(modules_enabled=modules), registry=registry
    )
    with client_transaction(make_engine(store), client_id) as conn:
        write_live(conn, live)


def modules_enabled(store: str) -> dict[str, list[str]]:
    return {row["client_id"]: row["modules_enabled"] for row in legacy_rows(store)}


def test_a_rename_is_one_change_and_apply_writes_the_new_id_in_place(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = renamed_tree(tmp_path, plain_settings=True)
    monkeypatch.chdir(desired)  # problems and plan lines are shown relative to the cwd
    (desired / "clients" / "acme.yaml").write_text(f"client_id: {CID}\nname: Acme\nmodules: {{}}\n")
    seed(store_url, CID, ("forms", "analytics-legacy", "support"))
    args = ("--store", store_url, "--dir", str(desired))

    text = invoke(capsys, "plan", *args)
    assert text.code == 0, text.err
    assert text.out.splitlines()[2:] == [
        f"~ Acme  {CID}  (clients/acme.yaml, strategy merge)",
        "    ~ analytics-legacy -> analytics  rename  [legacy]",
        "",
        "Plan: 1 client to change, 0 unchanged: 0 modules to enable, 0 to disable, 0 to update, "
        "0 override paths; 1 legacy entry to rename",
    ]
    markdown = invoke(capsys, "plan", *args, "--format", "markdown").out
    assert "\n1 legacy entry to rename.\n" in markdown
    assert "| ~ | `analytics-legacy -> analytics` | rename | legacy |\n" in markdown
    result = invoke(capsys, "plan", *args, "--format", "json", "--detailed-exitcode")
    assert result.code == 2
    plan = result.json()
    assert plan["summary"]["modules_renamed"] == 1
    assert plan["summary"]["modules_enabled"] == plan["summary"]["modules_disabled"] == 0
    assert plan["clients"][0]["changes"] == [
        {
            "module": "analytics",
            "kind": "rename",
            "path": [],
            "op": "change",
            "old": "analytics-legacy",
            "new": "analytics",
            "stores": ["legacy"],
            "informational": False,
            "sensitive": False,
        }
    ]
    status = invoke(capsys, "status", *args, "--client", CID, "--format", "json")
    assert status.code == 0, status.err
    [client] = status.json()["clients"]
    assert [(m["id"], m["source"]) for m in client["modules"]] == [
        ("analytics", "legacy"),
        ("forms", "legacy"),
        ("support", "legacy"),
    ]

    applied = invoke(capsys, "apply", *args, "--yes")
    assert applied.code == 0, applied.err
    assert modules_enabled(store_url) == {CID: ["forms", "analytics", "support"]}
    assert registry_rows(store_url) == []
    again = invoke(capsys, "plan", *args, "--detailed-exitcode")
    assert again.code == 0, again.out
    # Old code writes the old id back: drift reads it as the same module (not drifted).
    run_sql(
        store_url,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["forms", "analytics-legacy", "support"]', CID],
    )
    drift = invoke(capsys, "drift", *args, "--format", "json")
    assert drift.code == 0, drift.out + drift.err
    assert [c["status"] for c in drift.json()["clients"]] == ["in_sync"]


def test_import_writes_the_new_id_and_plan_stays_adoption_only(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = renamed_tree(tmp_path)
    seed(store_url, CID, ("analytics-legacy", "forms"))
    seed(
        store_url,
        OTHER,
        ("support", "analytics-legacy"),
        analytics=RegistryModule(enabled=True, version="2.3.1", settings=ANALYTICS),
    )
    args = ("--store", store_url, "--dir", str(desired))

    imported = invoke(capsys, "import", *args, "--format", "json")
    assert imported.code == 0, imported.err
    for cid in (CID, OTHER):
        text = (desired / "clients" / f"{cid}.yaml").read_text()
        assert "  analytics:\n    enabled: true\n" in text
        assert "analytics-legacy:" not in text
        assert "# Legacy entries under a replaced id: analytics-legacy -> analytics;" in text
    assert invoke(capsys, "validate", str(desired)).code == 0

    result = invoke(capsys, "plan", *args, "--format", "json", "--detailed-exitcode")
    assert result.code == 2, result.err
    plan = result.json()
    written = {
        (client["client_id"], c["module"], c["kind"])
        for client in plan["clients"]
        for c in client["changes"]
        if not c["informational"]
    }
    assert {kind for _, _, kind in written} == {"adopt", "rename"}
    assert {(cid, kind) for cid, module, kind in written if module == "analytics"} == {
        (CID, "adopt"),
        (CID, "rename"),
        (OTHER, "rename"),
    }
    assert plan["summary"]["modules_renamed"] == 2
    assert plan["summary"]["modules_enabled"] == plan["summary"]["modules_disabled"] == 0
    adopt_only = invoke(capsys, "plan", *args, "--adopt-only", "--format", "json").json()
    assert adopt_only["summary"]["modules_renamed"] == 2  # renames are adoption-class
    assert {
        (client["client_id"], c["module"], c["kind"])
        for client in adopt_only["clients"]
        for c in client["changes"]
    } == written  # nothing the full plan writes is left out: it is all adoption

    applied = invoke(capsys, "apply", *args, "--adopt-only", "--yes")
    assert applied.code == 0, applied.err
    assert modules_enabled(store_url) == {
        CID: ["analytics", "forms"],
        OTHER: ["support", "analytics"],
    }
    again = invoke(capsys, "plan", *args, "--detailed-exitcode")
    assert again.code == 0, again.out
    status = invoke(capsys, "status", *args, "--client", CID, "--format", "json")
    sources = {m["id"]: m["source"] for m in status.json()["clients"][0]["modules"]}
    assert sources == {"analytics": "unified", "forms": "unified"}


def test_status_and_compat_without_desired_state_use_the_synced_catalog(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = renamed_tree(tmp_path, plain_settings=True)
    client = f"client_id: {CID}\nmodules:\n  forms:\n    enabled: true\n"
    (desired / "clients" / "acme.yaml").write_text(client)
    seed(store_url, OTHER, ("analytics-legacy",))
    seed(store_url, CID, ("support",))
    args = ("--store", store_url, "--dir", str(desired))
    assert invoke(capsys, "apply", *args, "--yes", "--client", CID).code == 0  # syncs the catalog
    status = invoke(
        capsys, "status", "--store", store_url, "--dir", str(tmp_path / "none"),
        "--client", OTHER, "--format", "json",
    )  # fmt: skip
    assert status.code == 0, status.err
    assert [m["id"] for m in status.json()["clients"][0]["modules"]] == ["analytics"]
    # The compat API old code calls reads the synced catalog the same way.
    assert [m.id for m in unified_modules(OTHER, store=store_url, ttl=0)] == ["analytics"]


def test_validate_rejects_an_id_claimed_twice_and_a_rename_cycle(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = renamed_tree(tmp_path)
    monkeypatch.chdir(desired)  # problems and plan lines are shown relative to the cwd
    forms = desired / "modules" / "forms.yaml"
    forms.write_text(forms.read_text() + "replaces: [analytics-legacy]\n")
    module = "id: {0}\nname: {0}\nversion: 1.0.0\nreplaces: [{1}]\n"
    (desired / "modules" / "old-a.yaml").write_text(module.format("old-a", "old-b"))
    (desired / "modules" / "old-b.yaml").write_text(module.format("old-b", "old-a"))
    (desired / "modules" / "self.yaml").write_text(module.format("self", "self"))
    lines = forms.read_text().count("\n")

    result = invoke(capsys, "validate", str(desired))
    assert result.code == 1
    assert [line for line in result.out.splitlines() if ": $.replaces" in line] == [
        f"modules/forms.yaml:{lines}:12: $.replaces[0]: legacy id 'analytics-legacy' is also "
        "replaced by analytics (modules/analytics.yaml); an old id maps to one module",
        "modules/old-a.yaml:4:12: $.replaces[0]: rename cycle: old-a replaces old-b, "
        "and old-b replaces old-a",
        "modules/old-b.yaml:4:12: $.replaces[0]: rename cycle: old-b replaces old-a, "
        "and old-a replaces old-b",
        "modules/self.yaml:4:12: $.replaces[0]: module 'self' cannot replace itself",
    ]
