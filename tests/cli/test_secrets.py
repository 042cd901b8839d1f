"""Secrets out of git and out of history (issue 18): references, rotation, missing values,
history masking by recorded sensitivity, an encrypted history, clear-text warn/forbid, import."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients, is_pg, registry_rows, run_sql

SUMMIT = EXAMPLE_IDS["summit-health"]
NORTHWIND = EXAMPLE_IDS["northwind-clinic"]
ENV = "SUMMIT_API_KEY"
FIRST, SECOND = "env-secret-Alpha-1f3c", "env-secret-Bravo-9d2e"
FILE_VALUE = "file-secret-Charlie-77aa"
ENV_REF = "{secret: {env: SUMMIT_API_KEY}}"
FILE_REF = "{secret: {file: secrets/northwind-smtp-password}}"


@pytest.fixture
def tree(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """The example with summit-health's api_key an env reference and northwind's SMTP
    password a file reference (the file holds FILE_VALUE); no history key, ENV unset."""
    desired = copy_example(tmp_path)
    summit = desired / "clients" / "summit-health.yaml"
    text = re.sub(
        r"api_key: \{secret: \{file: [^}]*\}\}", f"api_key: {ENV_REF}", summit.read_text()
    )
    summit.write_text(text)
    assert ENV_REF in summit.read_text()
    assert FILE_REF in (desired / "clients" / "northwind-clinic.yaml").read_text()
    (desired / "secrets" / "northwind-smtp-password").write_text(FILE_VALUE + "\n")
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.delenv("RECONCILER_HISTORY_KEY", raising=False)
    add_clients(store_url, EXAMPLE_IDS.values())
    return store_url, desired


def cli(
    capsys: pytest.CaptureFixture[str], verb: str, store: str, desired: Path, *args: str
) -> Any:
    return invoke(capsys, verb, "--store", store, "--dir", str(desired), *args)


def setting(store: str, client: str, module: str, *path: str) -> Any:
    for row in registry_rows(store):
        if row["client_id"] == client and row["module_id"] == module:
            value: Any = row["settings"]
            for part in path:
                value = value[part]
            return value
    return None


def table_texts(store: str) -> dict[str, str]:
    """Every table of the store (reconciler's and the legacy one) as one text each."""
    if is_pg(store):
        names = [r[0] for r in run_sql(store, "SELECT table_name FROM information_schema.tables "
                                              "WHERE table_schema = current_schema()")]  # fmt: skip
        return {n: str(run_sql(store, f'SELECT t::text FROM "{n}" t')) for n in names}
    names = [r[0] for r in run_sql(store, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    return {n: str(run_sql(store, f'SELECT * FROM "{n}"')) for n in names}


def tables_holding(store: str, value: str) -> dict[str, int]:
    return {n: t.count(value) for n, t in table_texts(store).items() if value in t}


def no_value_in(result: Any, *values: str) -> None:
    for value in values:
        assert value not in result.out
        assert value not in result.err


def test_env_and_file_references_plan_apply_drift_revert_and_rotation(
    tree: tuple[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, desired = tree
    monkeypatch.setenv(ENV, FIRST)
    plan = cli(capsys, "plan", store, desired)
    assert plan.code == 0, plan.err
    assert "integrations settings.api_key                 (sensitive)  [registry]" in plan.out
    assert "email-integration settings.smtp.smtp_password  (sensitive)  [registry]" in plan.out
    applied = cli(capsys, "apply", store, desired, "--yes")
    assert applied.code == 0, applied.err
    no_value_in(plan, FIRST, FILE_VALUE)
    no_value_in(applied, FIRST, FILE_VALUE)
    assert setting(store, SUMMIT, "integrations", "api_key") == FIRST
    assert setting(store, NORTHWIND, "email-integration", "smtp", "smtp_password") == FILE_VALUE
    again = cli(capsys, "plan", store, desired, "--format", "json", "--client", SUMMIT)
    assert [c for c in again.json()["clients"] if c["writes"]] == []
    drift = cli(capsys, "drift", store, desired, "--format", "json")
    assert drift.code == 0, drift.err
    assert {c["client_id"]: c["status"] for c in drift.json()["clients"]}[SUMMIT] == "in_sync"

    # Rotating the environment value: a masked change, and apply writes it.
    monkeypatch.setenv(ENV, SECOND)
    rotated = cli(capsys, "plan", store, desired, "--client", SUMMIT)
    assert "~ integrations settings.api_key        (sensitive) -> (sensitive)  [registry]" in (
        rotated.out
    )
    no_value_in(rotated, FIRST, SECOND)
    pending = cli(capsys, "drift", store, desired, "--format", "json", "--client", SUMMIT)
    assert pending.json()["clients"][0]["classes"] == ["pending"]
    second = cli(capsys, "apply", store, desired, "--yes", "--client", SUMMIT, "--format", "json")
    assert second.code == 0, second.err
    assert setting(store, SUMMIT, "integrations", "api_key") == SECOND

    # Out of band: drift sees the sensitive path changed (no value shown), revert restores.
    run_sql(
        store,
        "UPDATE reconciler_client_modules SET settings = %s WHERE module_id = 'integrations' "
        "AND client_id = %s",
        [json.dumps({"api_key": "out-of-band", "allowed_hosts": [], "webhooks_enabled": True}),
         SUMMIT],
    )  # fmt: skip
    drifted = cli(capsys, "drift", store, desired, "--format", "json", "--client", SUMMIT)
    assert drifted.code == 2
    assert "registry.integrations.settings.api_key" in drifted.json()["clients"][0]["drifted_paths"]
    no_value_in(drifted, SECOND, "out-of-band")
    run = second.json()["run_id"]
    revert = invoke(capsys, "revert", str(run), "--store", store, "--yes", "--force")
    assert revert.code == 0, revert.err
    assert setting(store, SUMMIT, "integrations", "api_key") == FIRST


def test_missing_variable_or_file_is_a_clear_error_and_nothing_is_written(
    tree: tuple[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, desired = tree
    before = registry_rows(store)
    applied = cli(capsys, "apply", store, desired, "--yes")
    assert applied.code == 1
    assert applied.err == (
        f"error: client {SUMMIT} (clients/summit-health.yaml): module integrations setting "
        f"api_key: environment variable {ENV} is not set\nnothing was written\n"
        "hint: set the environment variables or mount the files the references name, "
        "then run again\n"
    )
    assert registry_rows(store) == before
    assert run_sql(store, "SELECT count(*) FROM reconciler_runs") == [(0,)]
    for verb in ("plan", "drift"):
        assert f"environment variable {ENV} is not set" in cli(capsys, verb, store, desired).err

    monkeypatch.setenv(ENV, FIRST)
    (desired / "secrets" / "northwind-smtp-password").unlink()
    missing = cli(capsys, "apply", store, desired, "--yes")
    assert missing.code == 1
    assert (
        f"client {NORTHWIND} (clients/northwind-clinic.yaml): module email-integration setting "
        f"smtp.smtp_password: secret file {desired}/secrets/northwind-smtp-password does not exist"
    ) in missing.err
    no_value_in(missing, FIRST)
    assert registry_rows(store) == before
    assert run_sql(store, "SELECT count(*) FROM reconciler_runs") == [(0,)]


def test_saved_plan_hashes_reference_values_and_refuses_a_rotated_one(
    tree: tuple[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, desired = tree
    monkeypatch.setenv(ENV, FIRST)
    plan_file = tmp_path / "plan.json"
    assert cli(capsys, "plan", store, desired, "--out", str(plan_file)).code == 0
    assert FIRST not in plan_file.read_text()
    assert FILE_VALUE not in plan_file.read_text()
    monkeypatch.setenv(ENV, SECOND)
    stale = cli(capsys, "apply", store, desired, str(plan_file), "--format", "json")
    outcomes = {r["client_id"]: r["outcome"] for r in stale.json()["clients"]}
    assert outcomes[SUMMIT] == "stale"
    assert outcomes[NORTHWIND] == "applied"
    assert setting(store, SUMMIT, "integrations", "api_key") is None


def test_history_masks_by_the_sensitivity_recorded_when_written(
    tree: tuple[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, desired = tree
    monkeypatch.setenv(ENV, FIRST)
    assert cli(capsys, "apply", store, desired, "--yes").code == 0
    # A later commit drops `sensitive: true` and writes a plain value instead.
    module = desired / "modules" / "integrations.yaml"
    module.write_text(
        module.read_text().replace("      sensitive: true", "      deprecated: false")
    )
    summit = desired / "clients" / "summit-health.yaml"
    summit.write_text(summit.read_text().replace(ENV_REF, "now-public-value"))
    second = cli(capsys, "apply", store, desired, "--yes", "--client", SUMMIT)
    assert second.code == 0, second.err
    for run in ("1", "2"):
        for fmt in ("text", "json", "markdown"):
            shown = invoke(
                capsys, "history", "show", run, "--store", store, "--dir", str(desired),
                "--format", fmt,
            )  # fmt: skip
            assert shown.code == 0, shown.err
            no_value_in(shown, FIRST, FILE_VALUE)
    # Without a history key the values are kept as the live row keeps them (README says so).
    assert FIRST in table_texts(store)["reconciler_run_clients"]


def test_history_key_keeps_sensitive_values_out_of_every_table_but_the_live_row(
    tree: tuple[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, desired = tree
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("RECONCILER_HISTORY_KEY", key)
    monkeypatch.setenv(ENV, FIRST)
    assert cli(capsys, "apply", store, desired, "--yes").code == 0
    monkeypatch.setenv(ENV, SECOND)
    rotated = cli(capsys, "apply", store, desired, "--yes", "--format", "json")
    assert rotated.code == 0, rotated.err
    run = str(rotated.json()["run_id"])
    assert tables_holding(store, FIRST) == {}
    assert tables_holding(store, SECOND) == {"reconciler_client_modules": 1}
    assert tables_holding(store, FILE_VALUE) == {"reconciler_client_modules": 1}
    drift = cli(capsys, "drift", store, desired, "--format", "json", "--client", SUMMIT)
    assert drift.json()["clients"][0]["status"] == "in_sync"  # decrypted for the comparison
    monkeypatch.delenv("RECONCILER_HISTORY_KEY")
    blind = cli(capsys, "drift", store, desired, "--format", "json", "--client", SUMMIT)
    assert blind.json()["clients"][0]["status"] == "in_sync"  # not compared, never "drifted"

    # A wrong key, or none: refused per client, nothing written.
    before = registry_rows(store)
    monkeypatch.setenv("RECONCILER_HISTORY_KEY", Fernet.generate_key().decode())
    wrong = invoke(capsys, "revert", run, "--store", store, "--yes")
    assert wrong.code == 1
    assert (
        f"client {SUMMIT}: run {run} stored its sensitive settings encrypted and "
        "RECONCILER_HISTORY_KEY does not decrypt them (not the key they were written with); "
        "refused, nothing written for it"
    ) in wrong.err
    monkeypatch.delenv("RECONCILER_HISTORY_KEY")
    unset = invoke(capsys, "revert", run, "--store", store, "--yes")
    assert unset.code == 1
    assert "RECONCILER_HISTORY_KEY is not set; refused, nothing written for it" in unset.err
    assert registry_rows(store) == before

    monkeypatch.setenv("RECONCILER_HISTORY_KEY", key)
    revert = invoke(capsys, "revert", run, "--store", store, "--yes")
    assert revert.code == 0, revert.err
    assert setting(store, SUMMIT, "integrations", "api_key") == FIRST
    assert tables_holding(store, FIRST) == {"reconciler_client_modules": 1}
    assert tables_holding(store, SECOND) == {}
    no_value_in(revert, FIRST, SECOND)


def test_clear_text_sensitive_value_warns_or_is_forbidden(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(desired)  # problems and plan lines are shown relative to the cwd
    summit = desired / "clients" / "summit-health.yaml"
    summit.write_text(re.sub(r"\{secret: \{file: [^}]*\}\}", "clear-Delta-5", summit.read_text()))
    where = "clients/summit-health.yaml:9:16: $.modules.integrations.settings.api_key"
    reason = (
        "clear-text value for a sensitive setting; write a reference instead: "
        "{secret: {env: NAME}} or {secret: {file: path}}"
    )
    forbid = invoke(capsys, "validate", str(desired))
    assert (forbid.code, forbid.out, forbid.err) == (
        1,
        f"{where}: {reason}\n1 problem in 1 file\n",
        "",
    )

    settings = desired / "reconciler.yaml"
    settings.write_text(settings.read_text().replace("plaintext: forbid", "plaintext: warn"))
    warn = invoke(capsys, "validate", str(desired))
    assert (warn.code, warn.out) == (0, "ok: 6 clients, 12 modules, 3 profiles\n")
    assert warn.err == f"warning: {where}: {reason}\n"
    report = invoke(capsys, "validate", str(desired), "--format", "json")
    assert (report.code, report.err) == (0, "")
    assert report.json()["valid"] is True
    assert report.json()["warnings"] == [
        {"file": "clients/summit-health.yaml", "line": 9, "column": 16,
         "path": "$.modules.integrations.settings.api_key", "reason": reason},
    ]  # fmt: skip
    no_value_in(warn, "clear-Delta-5")


def test_bad_references_are_validation_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(desired)  # problems and plan lines are shown relative to the cwd
    summit = desired / "clients" / "summit-health.yaml"
    text = re.sub(
        r"\{secret: \{file: [^}]*\}\}", "{secret: {env: 1BAD, file: x}}", summit.read_text()
    )
    text = text.replace(
        "sender_address: hello@summit-health.example", "sender_address: {secret: {env: MAIL}}"
    )
    summit.write_text(text)
    result = invoke(capsys, "validate", str(desired))
    assert result.code == 1
    assert result.out == (
        "clients/summit-health.yaml:9:25: $.modules.integrations.settings.api_key.secret: "
        "{'env': '1BAD', 'file': 'x'} has too many properties\n"
        "clients/summit-health.yaml:9:31: $.modules.integrations.settings.api_key.secret.env: "
        "'1BAD': does not match the pattern ^[A-Za-z_][A-Za-z0-9_]*$\n"
        "clients/summit-health.yaml:13:23: $.modules.email-integration.settings.sender_address: "
        "a secret reference is allowed only where the module's settings_schema marks the "
        "setting `sensitive: true`\n"
        "clients/summit-health.yaml:13:23: $.modules.email-integration.settings.sender_address: "
        "expected a string, got a mapping\n"
        "4 problems in 1 file\n"
    )


def test_import_writes_references_and_lists_the_variables(
    tree: tuple[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, desired = tree
    monkeypatch.setenv(ENV, FIRST)
    assert cli(capsys, "apply", store, desired, "--yes").code == 0
    out = desired.parent / "imported"
    result = cli(capsys, "import", store, desired, "--out", str(out), "--format", "json")
    assert result.code == 0, result.err
    summit_var = f"RECONCILER_SECRET_{SUMMIT.upper().replace('-', '_')}_INTEGRATIONS_API_KEY"
    north_var = (
        f"RECONCILER_SECRET_{NORTHWIND.upper().replace('-', '_')}"
        "_EMAIL_INTEGRATION_SMTP_SMTP_PASSWORD"
    )
    assert result.json()["secret_variables"] == [
        {"client_id": SUMMIT, "variable": summit_var, "module": "integrations",
         "setting": "api_key"},
        {"client_id": NORTHWIND, "variable": north_var, "module": "email-integration",
         "setting": "smtp.smtp_password"},
    ]  # fmt: skip
    written = "".join(p.read_text() for p in out.iterdir())
    assert f"secret:\n          env: {summit_var}\n" in written
    no_value_in(result, FIRST, FILE_VALUE)
    assert FIRST not in written
    assert FILE_VALUE not in written
    text = cli(capsys, "import", store, desired, "--out", str(out), "--force")
    assert f"  {summit_var}  (client {SUMMIT}, integrations api_key)\n" in text.err
    no_value_in(text, FIRST, FILE_VALUE)
