"""Policies (policies/*.yaml, issue 16): CEL rules over planned changes, deny and warn in every
plan format, `apply` refusing a deny before any write unless --force --reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke, saved_plan
from tests.helpers import add_clients, legacy_rows, registry_rows

NORTHWIND = EXAMPLE_IDS["northwind-clinic"]
SUMMIT = EXAMPLE_IDS["summit-health"]

# Enterprise clients (northwind, summit) must not get email-integration turned on by a plan;
# the example's own guard-rails.yaml warns on harbor-physio's switch-off.
DENY_EMAIL = """\
rules:
  - id: no-email-for-enterprise
    effect: deny
    expression: >-
      change.kind == "enable" && change.module == "email-integration"
      && "enterprise" in client.profiles
    message: email-integration needs a signed DPA
    scope:
      profiles: [enterprise]
      clients: ["north*", "summit-*"]
"""


@pytest.fixture
def demo(store_url: str, tmp_path: Path) -> tuple[str, Path]:
    """The example desired state against the `init --demo` live state."""
    desired = copy_example(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    from reconciler.live.demo import seed_demo
    from reconciler.live.engine import make_engine

    seed_demo(make_engine(store_url))
    return store_url, desired


def _with_deny(desired: Path) -> None:
    (desired / "policies" / "dpa.yaml").write_text(DENY_EMAIL)


def test_policies_deny_and_warn_as_written(
    demo: tuple[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, desired = demo
    monkeypatch.chdir(desired)  # problems and plan lines are shown relative to the cwd
    _with_deny(desired)
    result = invoke(capsys, "plan", "--store", store, "--dir", str(desired), "--format", "json")
    assert result.code == 0, result.err
    found = [
        (v["client_name"], v["policy"], v["effect"], v["change"], v["file"], v["line"])
        for v in result.json()["policy_violations"]
    ]
    deny = ("no-email-for-enterprise", "deny", "+ email-integration enable", "policies/dpa.yaml", 2)
    warn = (
        "review-switch-offs",
        "warn",
        "- questionnaire-engine disable",
        "policies/guard-rails.yaml",
        12,
    )
    assert found == [  # sorted by client id: summit 36a8…, harbor d18e…, northwind e318…
        ("summit-health", *deny),
        ("harbor-physio", *warn),
        ("northwind-clinic", *deny),
    ]
    text = invoke(capsys, "plan", "--store", store, "--dir", str(desired))
    assert text.code == 0
    assert (
        "    DENY no-email-for-enterprise: email-integration needs a signed DPA"
        "  [+ email-integration enable]  (policies/dpa.yaml:2:5)\n" in text.out
    )
    assert text.out.endswith(
        "Policies: 2 changes denied, 1 warning (apply refuses the run unless --force --reason)\n"
    )
    markdown = invoke(
        capsys, "plan", "--store", store, "--dir", str(desired), "--format", "markdown"
    )
    assert (
        "| `no-email-for-enterprise` | **deny** | `+ email-integration enable` "
        "| email-integration needs a signed DPA | `policies/dpa.yaml:2:5` |" in markdown.out
    )


def test_scope_limits_a_rule_to_profiles_and_client_globs(
    demo: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    (desired / "policies" / "dpa.yaml").write_text(DENY_EMAIL.replace('"summit-*"', '"x*"'))
    result = invoke(capsys, "plan", "--store", store, "--dir", str(desired), "--format", "json")
    denied = [v["client_id"] for v in result.json()["policy_violations"] if v["effect"] == "deny"]
    assert denied == [NORTHWIND]


def test_a_rule_on_client_fields_sees_each_client(
    demo: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Verdicts are memoised on the fields a rule reads: client.name must tell clients apart."""
    store, desired = demo
    (desired / "policies" / "names.yaml").write_text(
        "rules:\n"
        "  - id: only-acme\n"
        "    effect: warn\n"
        '    expression: change.kind == "enable" && client.name.startsWith("acme")\n'
        "    message: acme enables something\n"
    )
    result = invoke(capsys, "plan", "--store", store, "--dir", str(desired), "--format", "json")
    names = {v["client_name"] for v in result.json()["policy_violations"]}
    assert names == {"acme-dental", "harbor-physio"}  # harbor: the example's own warning


def test_apply_refuses_a_deny_without_writing_and_proceeds_with_force_and_reason(
    demo: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    _with_deny(desired)
    before = legacy_rows(store), registry_rows(store)
    refused = invoke(capsys, "apply", "--yes", "--store", store, "--dir", str(desired))
    assert refused.code == 1
    assert refused.out == ""
    assert "error: run refused before any write: 2 change(s) denied by policy\n" in refused.err
    assert (
        "policies/dpa.yaml:2:5: northwind-clinic: no-email-for-enterprise: "
        "email-integration needs a signed DPA (+ email-integration enable)" in refused.err
    )
    assert (legacy_rows(store), registry_rows(store)) == before

    no_reason = invoke(capsys, "apply", "--yes", "--force", "--store", store, "--dir", str(desired))
    assert no_reason.code == 1
    assert "--force overrides 2 policy denial(s) only with a --reason" in no_reason.err
    assert (legacy_rows(store), registry_rows(store)) == before
    assert invoke(capsys, "history", "--store", store, "--format", "json").json()["runs"] == []

    forced = invoke(
        capsys,
        "apply",
        "--yes",
        "--force",
        "--reason",
        "DPA signed on 2026-11-30",
        "--store",
        store,
        "--dir",
        str(desired),
    )
    assert forced.code == 0, forced.err
    assert (legacy_rows(store), registry_rows(store)) != before
    emails = [r for r in registry_rows(store) if r["module_id"] == "email-integration"]
    assert {r["client_id"] for r in emails if r["enabled"]} >= {NORTHWIND, SUMMIT}
    (run,) = invoke(capsys, "history", "--store", store, "--format", "json").json()["runs"]
    assert run["reason"] == "DPA signed on 2026-11-30"
    assert run["summary"]["policy_denials_overridden"] == 2
    assert run["summary"]["policy_warnings"] == 1


def test_apply_of_a_saved_plan_refuses_a_deny_too(
    demo: tuple[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    _with_deny(desired)
    plan_file = saved_plan(capsys, store, str(desired), tmp_path)
    before = legacy_rows(store), registry_rows(store)
    refused = invoke(capsys, "apply", str(plan_file), "--store", store, "--dir", str(desired))
    assert refused.code == 1
    assert "error: run refused before any write: 2 change(s) denied by policy\n" in refused.err
    assert (legacy_rows(store), registry_rows(store)) == before


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (
            "rules:\n"
            "  - id: broken\n"
            "    effect: deny\n"
            '    expression: change.kind == "disable" &&\n'
            "    message: never\n",
            "policies/bad.yaml:4:42: $.rules[0].expression: CEL does not compile: syntax error "
            "at column 26 of expression line 1 ('change.kind == \"disable\" &&')",
        ),
        (
            "rules:\n"
            "  - id: broken\n"
            "    effect: deny\n"
            "    expression: |\n"
            '      change.kind == "disable"\n'
            "        && change.module = 'x'\n"
            "    message: never\n",
            "policies/bad.yaml:4:17: $.rules[0].expression: CEL does not compile: syntax error "
            "at column 20 of expression line 2 (\"&& change.module = 'x'\")",
        ),
        (
            "rules:\n  - id: broken\n    effect: block\n    expression: 'true'\n    message: m\n",
            "policies/bad.yaml:3:13: $.rules[0].effect: 'block' is not one of: deny, warn",
        ),
        (
            "rules:\n"
            "  - id: gold-only\n"
            "    effect: warn\n"
            "    expression: 'true'\n"
            "    message: m\n"
            "    scope: {profiles: [gold]}\n",
            "policies/bad.yaml:6:24: $.rules[0].scope.profiles[0]: unknown profile 'gold' "
            "(no profiles/gold.yaml)",
        ),
        (
            "rules:\n"
            "  - id: review-switch-offs\n"
            "    effect: warn\n"
            "    expression: 'true'\n"
            "    message: m\n",
            "policies/guard-rails.yaml:12:9: $.rules[1].id: rule id 'review-switch-offs' is used "
            "twice (first at policies/bad.yaml:2:5)",
        ),
        (
            "rules:\n  - id: typo\n    effect: warn\n    expression: chnage.kind == 'x'\n"
            "    message: m\n",
            "policies/bad.yaml:4:17: $.rules[0].expression: unknown variable 'chnage' "
            "(the variables are change and client)",
        ),
        (
            "rules:\n  - id: typo\n    effect: warn\n    expression: client.tier == 'x'\n"
            "    message: m\n",
            "policies/bad.yaml:4:17: $.rules[0].expression: client has no field 'tier' "
            "(it has client_id, name, file, strategy, profiles, modules)",
        ),
    ],
    ids=[
        "cel-syntax",
        "cel-syntax-block",
        "schema",
        "unknown-profile",
        "duplicate-id",
        "unknown-variable",
        "unknown-field",
    ],
)
def test_a_bad_policy_is_a_file_line_col_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], policy: str, expected: str
) -> None:
    desired = copy_example(tmp_path)
    (desired / "policies" / "bad.yaml").write_text(policy)
    result = invoke(capsys, "validate", str(desired))
    assert result.code == 1
    assert expected in result.out + result.err
