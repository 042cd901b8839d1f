"""`reconciler drift`: in sync, drifted (out-of-band SQL), pending (unapplied YAML), --heal."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients, run_sql

BRIGHT = EXAMPLE_IDS["bright-smiles"]
ACME = EXAMPLE_IDS["acme-dental"]


@pytest.fixture
def applied(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    desired = str(copy_example(tmp_path))
    add_clients(store_url, EXAMPLE_IDS.values())
    result = invoke(capsys, "apply", "--yes", "--store", store_url, "--dir", desired)
    assert result.code == 0, result.err
    return store_url, desired


def statuses(report: dict) -> dict[str, list[str]]:
    return {c["name"]: c["classes"] for c in report["clients"]}


def test_in_sync_after_apply(applied: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    store, desired = applied
    result = invoke(capsys, "drift", "--store", store, "--dir", desired, "--format", "json")
    assert result.code == 0
    report = result.json()
    assert report["format_version"] == 1
    assert report["summary"] == {
        "clients": 6,
        "drifted": 0,
        "in_sync": 5,
        "never_applied": 1,
        "pending": 0,
    }
    # lakeside-vets is `strategy: preserve`: never written, so never applied.
    assert statuses(report)["lakeside-vets"] == ["never_applied"]


def test_out_of_band_write_is_drift_exit_2(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, desired = applied
    monkeypatch.chdir(Path(desired).parent)  # files are shown relative to the cwd
    run_sql(
        store,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["support"]', BRIGHT],
    )
    result = invoke(capsys, "drift", "--store", store, "--dir", desired, "--format", "json")
    assert result.code == 2
    bright = next(c for c in result.json()["clients"] if c["client_id"] == BRIGHT)
    assert bright == {
        "classes": ["drifted"],
        "client_id": BRIGHT,
        "drifted_paths": ["legacy.modules_enabled"],
        "file": "desired-state/clients/bright-smiles.yaml",
        "last_run": 1,
        "name": "bright-smiles",
        "pending_changes": 0,
        "status": "drifted",
    }
    text = invoke(capsys, "drift", "--store", store, "--dir", desired)
    assert text.code == 2
    assert text.out.splitlines()[:3] == [
        "Drift: 6 clients: 1 drifted, 0 pending, 1 never applied, 4 in sync",
        f"  bright-smiles            {BRIGHT}  drifted (last run 1)",
        "      changed outside git: legacy.modules_enabled",
    ]


def test_unapplied_yaml_edit_is_pending(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    path = Path(desired) / "clients" / "acme-dental.yaml"
    path.write_text(path.read_text().replace("#0a7cff", "#123456"))
    result = invoke(capsys, "drift", "--store", store, "--dir", desired, "--format", "json")
    assert result.code == 0
    acme = next(c for c in result.json()["clients"] if c["client_id"] == ACME)
    assert (acme["classes"], acme["pending_changes"]) == (["pending"], 1)


def test_heal_returns_to_in_sync(
    applied: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = applied
    run_sql(
        store,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["support"]', BRIGHT],
    )
    healed = invoke(capsys, "drift", "--heal", "--yes", "--store", store, "--dir", desired)
    assert healed.code == 0, healed.err
    assert f"applied   {BRIGHT}" in healed.err
    assert "Heal run 2: 1 applied" in healed.err
    after = invoke(capsys, "drift", "--store", store, "--dir", desired, "--format", "json")
    assert after.code == 0
    assert statuses(after.json())["bright-smiles"] == ["in_sync"]
    history = invoke(capsys, "history", "--store", store, "--format", "json").json()
    assert [(r["id"], r["kind"], r["clients"]) for r in history["runs"]] == [
        (2, "heal", 1),
        (1, "apply", 5),
    ]
