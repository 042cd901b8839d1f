"""`reconciler status`: the fleet line per client, one client's modules, warnings, formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler import api
from reconciler.live.demo import DEMO_LIVE
from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS, invoke
from tests.helpers import add_clients

NORTHWIND = EXAMPLE_IDS["northwind-clinic"]
ACME = EXAMPLE_IDS["acme-dental"]
BRIGHT = EXAMPLE_IDS["bright-smiles"]


@pytest.fixture
def demo_store(store_url: str) -> str:
    add_clients(store_url, [c.client_id for c in DEMO_LIVE])
    api.init(store_url, demo=True)
    return store_url


FLEET = """\
legacy defaults: analytics, automation, integrations, support
CLIENT                                NAME              ENABLED  LEGACY ROW         SOURCES                          CONFLICTS
0ee6a19a-b01d-4773-8a91-d6023ddab802  acme-dental       4        no row (defaults)  legacy 3, unified 1              0
36a85917-ad8f-4e4a-b855-3ab94d394f46  summit-health     5        5 modules          legacy 3, unified 2              0
74089fb5-e782-426b-ad85-c7990bd21638  bright-smiles     0        [] (no modules)    -                                0
c8d7d1d9-7646-4c30-989a-c4fea8f82535  lakeside-vets     3        3 modules          legacy 2, unified 1              0
d18ea511-018e-4cde-86d2-c73949d0f77a  harbor-physio     3        3 modules          legacy 2, unified 1              0
e3189a23-3157-4c72-aacf-e644df46c05e  northwind-clinic  4        4 modules          legacy 1, registry 1, unified 3  2
6 clients
"""

NORTHWIND_TEXT = """
client e3189a23-3157-4c72-aacf-e644df46c05e (northwind-clinic)
legacy row: modules_enabled = [analytics, consultation, forms, integrations]
MODULE             ENABLED  VERSION  SOURCE               SETTINGS
analytics          yes      -        legacy               -
consultation       no       1.2.0    unified (conflict)   -
email-integration  yes      0.9.0    registry (conflict)  {"sender":"noreply@example.com"}
forms              yes      2.0.0    unified              {"max_fields":25}
integrations       yes      1.1.0    unified              {"api_key":"(sensitive)","provider":"zapier"}
override theme: {"logo_url":"https://example.com/nw.png","primary_color":"#1f3a5f"}
override consultation: {"duration_minutes":30}
"""

NORTHWIND_WARNINGS = (
    "warning: client northwind-clinic: consultation: enabled in the legacy list but disabled "
    "in the registry\n"
    "warning: client northwind-clinic: email-integration: enabled in the registry but missing "
    "from the legacy list\n"
)


def test_fleet(capsys: pytest.CaptureFixture[str], demo_store: str) -> None:
    result = invoke(capsys, "status", "--store", demo_store, "--dir", str(EXAMPLE))
    assert (result.code, result.err) == (0, "")
    assert result.out == f"store: {demo_store}\n{FLEET}"


def test_one_client(capsys: pytest.CaptureFixture[str], demo_store: str) -> None:
    result = invoke(
        capsys, "status", "--store", demo_store, "--dir", str(EXAMPLE), "--client", NORTHWIND
    )
    assert result.code == 0
    assert result.out == f"store: {demo_store}\n{NORTHWIND_TEXT}"
    assert result.err == NORTHWIND_WARNINGS


def test_no_row_and_empty_list_in_detail(
    capsys: pytest.CaptureFixture[str], demo_store: str
) -> None:
    result = invoke(
        capsys,
        "status",
        "--store",
        demo_store,
        "--dir",
        "no-such-dir",
        "--client",
        ACME,
        "--client",
        BRIGHT,
    )
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        f"store: {demo_store}\n\n"
        f"client {ACME}\n"
        "legacy row: none, so the legacy defaults apply "
        "(analytics, automation, integrations, support)\n"
        "MODULE        ENABLED  VERSION  SOURCE   SETTINGS\n"
        'analytics     yes      1.0.0    unified  {"retention_days":30}\n'
        "automation    yes      -        legacy   -\n"
        "integrations  yes      -        legacy   -\n"
        "support       yes      -        legacy   -\n"
        f"\nclient {BRIGHT}\n"
        "legacy row: modules_enabled = [] (no modules)\n"
        "no modules\n"
        'override theme: {"primary_color":"#0a7cff"}\n'
    )


def test_json(capsys: pytest.CaptureFixture[str], demo_store: str) -> None:
    result = invoke(
        capsys,
        "status",
        "--store",
        demo_store,
        "--dir",
        str(EXAMPLE),
        "--client",
        NORTHWIND,
        "--format",
        "json",
    )
    assert result.code == 0
    data = result.json()
    assert sorted(data) == [
        "clients",
        "detailed",
        "format_version",
        "legacy_defaults",
        "store",
        "warnings",
    ]
    assert (data["format_version"], data["detailed"], data["store"]) == (1, True, demo_store)
    [client] = data["clients"]
    assert sorted(client) == [
        "client_id",
        "conflict_count",
        "enabled_count",
        "legacy_modules_enabled",
        "legacy_row",
        "modules",
        "name",
        "overrides",
        "sources",
    ]
    integrations = next(m for m in client["modules"] if m["id"] == "integrations")
    assert integrations == {
        "id": "integrations",
        "enabled": True,
        "version": "1.1.0",
        "settings": {"api_key": "(sensitive)", "provider": "zapier"},
        "source": "unified",
        "conflicts": [],
    }
    assert client["sources"] == {"legacy": 1, "registry": 1, "unified": 3}
    assert len(data["warnings"]) == 2
    assert "demo-placeholder" not in result.out


def test_markdown_fleet(capsys: pytest.CaptureFixture[str], demo_store: str) -> None:
    result = invoke(
        capsys, "status", "--store", demo_store, "--dir", str(EXAMPLE), "--format", "markdown"
    )
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[:4] == [
        f"**Store:** `{demo_store}`",
        "",
        "| Client | Name | Enabled | Legacy row | Sources | Conflicts |",
        "|---|---|---:|---|---|---:|",
    ]
    assert lines[-1] == (
        f"| `{NORTHWIND}` | northwind-clinic | 4 | 4 modules | legacy 1, registry 1, unified 3 | 2 |"
    )


def test_masking_without_a_catalog(capsys: pytest.CaptureFixture[str], demo_store: str) -> None:
    result = invoke(
        capsys,
        "status",
        "--store",
        demo_store,
        "--dir",
        "no-such-dir",
        "--client",
        NORTHWIND,
        "--format",
        "json",
    )
    assert "demo-placeholder" not in result.out
    assert '"api_key": "(sensitive)"' in result.out


def test_broken_desired_state_is_a_warning(
    capsys: pytest.CaptureFixture[str], demo_store: str, tmp_path: Path
) -> None:
    (tmp_path / "reconciler.yaml").write_text("legacy: [unclosed\n")
    result = invoke(capsys, "status", "--store", demo_store, "--dir", str(tmp_path))
    assert result.code == 0
    assert result.err.startswith(f"warning: desired state in {tmp_path} not loaded (")
    assert "run `reconciler validate`" in result.err


def test_uninitialised_store(capsys: pytest.CaptureFixture[str], store_url_bare: str) -> None:
    result = invoke(capsys, "status", "--store", store_url_bare)
    assert (result.code, result.out) == (1, "")
    assert result.err == "error: store not initialised\nhint: run `reconciler init --store ...`\n"


def test_empty_fleet(capsys: pytest.CaptureFixture[str], store_url: str) -> None:
    result = invoke(capsys, "status", "--store", store_url, "--dir", "no-such-dir")
    assert result.out == (
        f"store: {store_url}\nlegacy defaults: analytics, automation, integrations, support\n"
        "no clients with live state\n"
    )


def test_unknown_client_gets_a_warning(capsys: pytest.CaptureFixture[str], demo_store: str) -> None:
    other = "00000000-0000-4000-8000-000000000000"
    result = invoke(capsys, "status", "--store", demo_store, "--client", other)
    assert result.code == 0
    assert result.err == (
        f"warning: client {other}: no live state (no legacy row, so legacy defaults apply; "
        "no registry rows)\n"
    )


@pytest.mark.pg
def test_bad_client_id_on_postgresql(capsys: pytest.CaptureFixture[str], pg_store: str) -> None:
    result = invoke(capsys, "status", "--store", pg_store, "--client", "acme")
    assert result.code == 1
    assert result.err.startswith("error: client id 'acme' is not a valid UUID\n")
