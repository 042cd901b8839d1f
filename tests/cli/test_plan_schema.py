"""schemas/plan.schema.json documents `plan --format json` (issue 16): real plans validate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.desired.schema import schema_dir
from reconciler.live.demo import seed_demo
from reconciler.live.engine import dispose_engine, make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import copy_example, invoke
from tests.git_helpers import example_repo

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "plan.schema.json"
SCHEMA = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    """The `init --demo` live state in a SQLite file."""
    url = f"sqlite:///{tmp_path}/store.db"
    engine = make_engine(url)
    init(engine)
    seed_demo(engine)
    yield url
    dispose_engine(url)


def valid(data: Any) -> None:
    Draft202012Validator(SCHEMA).validate(data)


def test_the_schema_is_valid_2020_12_and_shipped() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert (schema_dir() / "plan.schema.json").read_text(encoding="utf-8") == (
        SCHEMA_FILE.read_text(encoding="utf-8")
    )


def test_schema_plan_prints_it(capsys: pytest.CaptureFixture[str]) -> None:
    result = invoke(capsys, "schema", "plan")
    assert (result.code, result.out) == (0, SCHEMA_FILE.read_text(encoding="utf-8"))


def test_the_bundled_example_plan_validates(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = invoke(capsys, "plan", "--store", store, "--dir", "desired-state", "--format", "json")
    assert result.code == 0, result.err
    data = result.json()
    valid(data)
    kinds = {change["kind"] for client in data["clients"] for change in client["changes"]}
    assert kinds == {"enable", "disable", "version", "setting", "override", "adopt"}
    assert any(c["sensitive"] for client in data["clients"] for c in client["changes"])
    assert {c["file"] for c in data["clients"]} <= {
        f"desired-state/clients/{p.name}" for p in (desired / "clients").iterdir()
    }


def test_a_changed_since_plan_validates(
    store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, desired = example_repo(tmp_path)
    (desired / "clients/bright-smiles.yaml").unlink()
    acme = desired / "clients/acme-dental.yaml"
    acme.write_text(acme.read_text().replace("max_fields: 60", "max_fields: 61"))
    monkeypatch.chdir(root)
    result = invoke(
        capsys,
        "plan",
        "--store",
        store,
        "--dir",
        "desired-state",
        "--changed-since",
        "HEAD",
        "--format",
        "json",
    )
    assert result.code == 0, result.err
    data = result.json()
    valid(data)
    assert data["changed_since"]["deleted"][0]["file"] == "desired-state/clients/bright-smiles.yaml"
    assert [c["file"] for c in data["clients"]] == ["desired-state/clients/acme-dental.yaml"]


def test_the_schema_rejects_what_a_plan_never_holds() -> None:
    errors = list(
        Draft202012Validator(SCHEMA).iter_errors(
            {
                "format_version": 1,
                "kind": "plan",
                "store": "s",
                "desired_commit": None,
                "desired_root": "d",
                "summary": {},
                "clients": [{"client_id": "c", "changes": [{"kind": "delete"}]}],
            }
        )
    )
    assert errors  # missing summary counts, an unknown change kind, missing client keys
