"""`reconciler explain`: the layer that set each resolved value, on the bundled example."""

from __future__ import annotations

import pytest

from tests.cli.cli_helpers import EXAMPLE, invoke

HEAD = (
    "acme-dental  0ee6a19a-b01d-4773-8a91-d6023ddab802  (clients/acme-dental.yaml)\n"
    "layers, lowest first: module default_settings < reconciler.yaml defaults < "
    "profiles (foundation, growth) < client file\n"
)


def _explain(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    result = invoke(capsys, "explain", *args, "--dir", str(EXAMPLE))
    assert (result.code, result.err) == (0, "")
    return result.out


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (  # reconciler.yaml defaults over the module's default_settings
            "analytics.settings.retention_days",
            "modules.analytics.settings.retention_days = 90\n"
            "    set by   reconciler.yaml defaults  reconciler.yaml:29:25\n"
            "    overrode module default_settings  modules/analytics.yaml:17:19  365\n",
        ),
        (  # the first profile
            "documents.settings.storage_quota_mb",
            "modules.documents.settings.storage_quota_mb = 2048\n"
            "    set by   profile foundation  profiles/foundation.yaml:8:25\n"
            "    overrode module default_settings  modules/documents.yaml:14:21  1024\n",
        ),
        (  # the second profile over the first
            "automation.settings.max_workflows",
            "modules.automation.settings.max_workflows = 25\n"
            "    set by   profile growth  profiles/growth.yaml:10:22\n"
            "    overrode profile foundation  profiles/foundation.yaml:11:22  5\n"
            "    overrode module default_settings  modules/automation.yaml:14:18  10\n",
        ),
        (  # the client file
            "forms.settings.max_fields",
            "modules.forms.settings.max_fields = 60\n"
            "    set by   client file  clients/acme-dental.yaml:9:19\n"
            "    overrode module default_settings  modules/forms.yaml:15:15  40\n",
        ),
        (
            "overrides.consultation.reminders",
            "overrides.consultation.reminders = true\n"
            "    set by   profile growth  profiles/growth.yaml:16:16\n",
        ),
    ],
    ids=["defaults", "profile-1", "profile-2", "client-file", "override"],
)
def test_explain_names_the_layer_that_set_a_value(
    capsys: pytest.CaptureFixture[str], selector: str, expected: str
) -> None:
    assert _explain(capsys, "acme-dental", selector) == HEAD + "\n" + expected


def test_explain_json_lists_every_value_with_its_layers(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = invoke(
        capsys, "explain", "0ee6a19a-b01d-4773-8a91-d6023ddab802", "--dir", str(EXAMPLE),
        "--format", "json",
    )  # fmt: skip
    assert result.code == 0
    report = result.json()
    assert (report["format_version"], report["kind"], report["name"]) == (
        1,
        "explain",
        "acme-dental",
    )
    by_path = {v["path"]: v for v in report["values"]}
    assert by_path["strategy"]["set_by"] == {
        "layer": "reconciler.yaml",
        "file": "reconciler.yaml",
        "line": 8,
        "column": 11,
        "value": "merge",
    }
    assert by_path["modules.forms.version_range"]["value"] == "^1.4.0"
    assert by_path["modules.forms.version_range"]["set_by"]["layer"] == "client file"
    assert by_path["modules.forms.version"]["set_by"]["file"] == "modules/forms.yaml"
    assert by_path["modules.support.enabled"]["set_by"]["layer"] == "reconciler.yaml defaults"
    assert by_path["modules.forms.enabled"]["set_by"]["layer"] == "profile foundation"
    layers = [o["layer"] for o in by_path["modules.automation.settings.max_workflows"]["overrode"]]
    assert layers == ["module default_settings", "profile foundation"]


def test_explain_masks_sensitive_settings(capsys: pytest.CaptureFixture[str]) -> None:
    out = _explain(capsys, "northwind-clinic", "email-integration.settings.smtp.smtp_password")
    assert out.endswith(
        'modules.email-integration.settings.smtp.smtp_password = "(sensitive)"\n'
        "    set by   client file  clients/northwind-clinic.yaml:12:24\n"
    )
    assert "placeholder-not-a-secret" not in out


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("nobody",), "error: no client 'nobody' in "),
        (("acme-dental", "billing"), "error: 'billing' is not a module of acme-dental\n"),
        (
            ("acme-dental", "forms.settings.nope"),
            "error: 'forms.settings.nope' is not a resolved value of acme-dental\n",
        ),
    ],
)
def test_explain_refuses_what_does_not_exist(
    capsys: pytest.CaptureFixture[str], args: tuple[str, ...], error: str
) -> None:
    result = invoke(capsys, "explain", *args, "--dir", str(EXAMPLE))
    assert result.code == 1
    assert result.out == ""
    assert result.err.startswith(error)


def test_explain_enabled_names_the_layer_that_switched_a_module_off(
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _explain(capsys, "bright-smiles", "analytics.enabled")
    assert out.endswith(
        "modules.analytics.enabled = false\n"
        "    set by   client file  clients/bright-smiles.yaml:8:14\n"
        "    overrode reconciler.yaml defaults  reconciler.yaml:28:7  true\n"
    )
