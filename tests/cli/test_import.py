"""`reconciler import`: live state -> client YAML -> validate passes -> plan writes nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler import api
from tests.cli.cli_helpers import EXAMPLE_IDS, Result, copy_example, invoke
from tests.helpers import add_clients, run_sql

ACME = EXAMPLE_IDS["acme-dental"]  # demo: no legacy row
NORTHWIND = EXAMPLE_IDS["northwind-clinic"]  # demo: the stores disagree
MODELINE = "# yaml-language-server: $schema=../../schemas/client.schema.json\n"


def empty_desired(tmp_path: Path) -> Path:
    """The example's settings, catalog and profiles, with no client files."""
    desired = copy_example(tmp_path)
    for path in (desired / "clients").glob("*.yaml"):
        path.unlink()
    return desired


def run_import(capsys: pytest.CaptureFixture[str], store: str, desired: Path, *args: str) -> Result:
    return invoke(capsys, "import", "--store", store, "--dir", str(desired), *args)


def plan_json(capsys: pytest.CaptureFixture[str], store: str, desired: Path) -> dict:
    """The plan right after an import: adoption into the registry (and informational changes)
    only, nothing that touches the legacy store (issue 13)."""
    result = invoke(
        capsys, "plan", "--store", store, "--dir", str(desired), "--format", "json",
        "--detailed-exitcode",
    )  # fmt: skip
    assert result.code in (0, 2), result.out + result.err
    plan = result.json()
    written = [c for client in plan["clients"] for c in client["changes"] if not c["informational"]]
    assert {(c["kind"], tuple(c["stores"])) for c in written} <= {("adopt", ("registry",))}
    assert result.code == (2 if written else 0)
    return plan


def legacy_rows(store: str) -> list[tuple]:
    return run_sql(store, "SELECT * FROM client_app_overrides ORDER BY client_id")


def adopt_all(capsys: pytest.CaptureFixture[str], store: str, desired: Path) -> None:
    """`apply --adopt-only` leaves every legacy row byte-identical; the next plan is empty."""
    before = legacy_rows(store)
    args = ("--store", store, "--dir", str(desired))
    adopted = invoke(capsys, "apply", "--adopt-only", "--yes", *args, "--format", "json")
    assert adopted.code == 0, adopted.err
    assert legacy_rows(store) == before
    again = invoke(capsys, "plan", *args, "--detailed-exitcode", "--format", "json")
    assert again.code == 0, again.out
    assert all(not c["writes"] for c in again.json()["clients"])


def test_import_after_apply_plans_nothing(
    store_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    assert invoke(capsys, "apply", "--yes", "--store", store_url, "--dir", str(desired)).code == 0
    shutil.rmtree(desired / "clients")
    (desired / "clients").mkdir()
    result = run_import(capsys, store_url, desired)
    assert result.code == 0, result.err
    assert invoke(capsys, "validate", str(desired)).out == "ok: 5 clients, 12 modules, 3 profiles\n"
    # Sensitive values were written as env references (issue 18): set them to the live values.
    variables = [line.split()[0] for line in result.err.splitlines() if line.startswith("  ")]
    assert len(variables) == 2
    for name in variables:
        monkeypatch.setenv(name, "placeholder-not-a-secret")
    plan = plan_json(capsys, store_url, desired)  # legacy defaults merge kept: adopt them now
    assert {c["client_id"] for c in plan["clients"]} == {ACME, EXAMPLE_IDS["bright-smiles"]}
    adopt_all(capsys, store_url, desired)
    text = (desired / "clients" / f"{NORTHWIND}.yaml").read_text()
    assert text.startswith(MODELINE + "# Imported from the live stores by `reconciler import`.\n")
    assert f"client_id: {NORTHWIND}\nstrategy: merge\nmodules:\n" in text


def test_demo_live_state_with_conflicts_and_no_legacy_row(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = empty_desired(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    api.init(store_url, demo=True)
    result = run_import(capsys, store_url, desired, "--format", "json")
    assert result.code == 0, result.err
    report = result.json()
    assert report["format_version"] == 1
    assert report["summary"] == {
        "written": 6,
        "overwritten": 0,
        "exists": 0,
        "failed": 0,
        "conflicts": report["summary"]["conflicts"],
    }
    clients = {c["client_id"]: c for c in report["clients"]}
    acme = clients[ACME]
    assert acme["legacy_row"] is False
    assert [(m["id"], m["source"]) for m in acme["modules"]] == [
        ("analytics", "unified"),
        ("automation", "legacy"),
        ("integrations", "legacy"),
        ("support", "legacy"),
    ]
    northwind = {m["id"]: m for m in clients[NORTHWIND]["modules"]}
    assert northwind["consultation"]["conflicts"][0] == (
        "enabled in the legacy list but disabled in the registry"
    )
    assert northwind["email-integration"]["source"] == "registry"
    assert northwind["email-integration"]["conflicts"][:2] == [
        "enabled in the registry but missing from the legacy list",
        "live version 0.9.0 differs from the catalog version 1.3.0",
    ]
    assert northwind["email-integration"]["handling"] == "preserve-off"
    assert invoke(capsys, "validate", str(desired)).code == 0
    plan = plan_json(capsys, store_url, desired)
    assert plan["summary"]["modules_adopted"] == plan["summary"]["modules_adopted"] > 0
    assert plan["summary"]["modules_enabled"] == plan["summary"]["modules_disabled"] == 0
    text = (desired / "clients" / f"{ACME}.yaml").read_text()
    assert "# No legacy row: the legacy defaults apply.\n" in text
    for module in ("automation", "integrations", "support"):  # only the legacy list had them
        assert f"  {module}:\n    enabled: true\n" in text
    assert "Not listed, kept as they are" not in text
    adopt_all(capsys, store_url, desired)
    status = invoke(capsys, "status", "--store", store_url, "--client", ACME, "--format", "json")
    sources = {m["id"]: m["source"] for m in status.json()["clients"][0]["modules"]}
    assert sources == dict.fromkeys(
        ("analytics", "automation", "integrations", "support"), "unified"
    )


def test_conflicts_go_to_stderr_in_text(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = empty_desired(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    api.init(store_url, demo=True)
    result = run_import(capsys, store_url, desired, "--client", NORTHWIND)
    assert result.code == 0
    assert result.out.splitlines()[0] == f"Import from {store_url} into {desired}/clients"
    assert (
        f"warning: client {NORTHWIND}: consultation: enabled in the legacy list but disabled "
        "in the registry\n" in result.err
    )
    assert "warning:" not in result.out


def test_client_without_live_state_imports_the_legacy_defaults(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = empty_desired(tmp_path)
    cid = "9a0c2a4e-1111-4b5c-8d9e-000000000001"
    add_clients(store_url, [cid])
    result = run_import(capsys, store_url, desired, "--client", cid, "--format", "json")
    assert result.code == 0, result.err
    client = result.json()["clients"][0]
    assert client["legacy_row"] is False
    assert [(m["id"], m["source"], m["enabled"]) for m in client["modules"]] == [
        ("analytics", "legacy", True),
        ("automation", "legacy", True),
        ("integrations", "legacy", True),
        ("support", "legacy", True),
    ]
    plan = plan_json(capsys, store_url, desired)
    assert plan["summary"]["modules_adopted"] == 4
    adopt_all(capsys, store_url, desired)
    assert run_sql(store_url, "SELECT count(*) FROM client_app_overrides") == [(0,)]


def test_existing_files_need_force(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = copy_example(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    api.init(store_url, demo=True)
    path = desired / "clients" / "acme-dental.yaml"
    before = path.read_text()
    refused = run_import(capsys, store_url, desired, "--client", ACME)
    assert refused.code == 1
    assert f"  exists, not overwritten (pass --force) {path}  {ACME}\n" in refused.out
    assert path.read_text() == before
    forced = run_import(capsys, store_url, desired, "--client", ACME, "--force")
    assert forced.code == 0, forced.err
    assert f"  overwrote {path}  {ACME}" in forced.out
    text = path.read_text()
    assert text.startswith(MODELINE)
    assert "name: acme-dental\n" in text  # the name of the file it replaces is kept
    assert sorted(p.name for p in (desired / "clients").iterdir()) == [
        "acme-dental.yaml",
        "bright-smiles.yaml",
        "harbor-physio.yaml",
        "lakeside-vets.yaml",
        "northwind-clinic.yaml",
        "summit-health.yaml",
    ]
    assert invoke(capsys, "validate", str(desired)).code == 0


def test_out_directory(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    desired = empty_desired(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    api.init(store_url, demo=True)
    out = tmp_path / "imported"
    result = run_import(capsys, store_url, desired, "--out", str(out), "--client", ACME)
    assert result.code == 0, result.err
    assert [p.name for p in out.iterdir()] == [f"{ACME}.yaml"]
    assert list((desired / "clients").iterdir()) == []
