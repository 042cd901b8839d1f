"""Issue 18 finding 9: inputs `validate` used to skip or accept silently. A wrong-case suffix
(`clients/UPPER.YML`) and a symlinked client directory are warned about (stderr in text,
`warnings` in JSON, exit code unchanged); a client id or name that differs from another
client's only by confusable characters (Cyrillic lookalikes) is an error at file:line:col."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.desired.confusable import skeleton
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke

BRIGHT = EXAMPLE_IDS["bright-smiles"]  # 74089fb5-e782-...
CYRILLIC_E = "\u0435"
CYRILLIC_I = "\u0456"


def _client(path: Path, client_id: str, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"client_id: {client_id}\nname: {name}\n", encoding="utf-8")


def test_skeleton_maps_lookalikes_to_ascii() -> None:
    assert skeleton(f"74089fb5-{CYRILLIC_E}782") == "74089fb5-e782"
    assert skeleton(f"br{CYRILLIC_I}ght-smiles") == "bright-smiles"
    assert skeleton("ｂｒｉｇｈｔ") == "bright"  # fullwidth: NFKC
    assert skeleton("plain-ascii") == "plain-ascii"
    assert skeleton("zürich") == "zürich"  # no ASCII lookalike: kept


def test_wrong_case_suffix_is_warned_about(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    _client(desired / "clients" / "UPPER.YML", "99999999-9999-4999-8999-999999999999", "upper")
    text = invoke(capsys, "validate", str(desired))
    assert text.code == 0
    assert text.out.startswith("ok: 6 clients")
    assert (
        "warning: clients/UPPER.YML:1:1: $: not read: the suffix must be lowercase "
        ".yaml or .yml\n" in text.err
    )
    as_json = invoke(capsys, "validate", str(desired), "--format", "json")
    assert as_json.code == 0
    warnings = json.loads(as_json.out)["warnings"]
    assert [(w["file"], w["line"]) for w in warnings] == [("clients/UPPER.YML", 1)]


def test_symlinked_client_directory_is_warned_about(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    elsewhere = tmp_path / "elsewhere"
    _client(elsewhere / "far.yaml", "99999999-9999-4999-8999-999999999999", "far")
    (desired / "clients" / "linked").symlink_to(elsewhere, target_is_directory=True)
    text = invoke(capsys, "validate", str(desired))
    assert text.code == 0
    assert "warning: clients/linked:1:1: $: not read: a symlink to a directory" in text.err
    as_json = json.loads(invoke(capsys, "validate", str(desired), "--format", "json").out)
    assert [w["file"] for w in as_json["warnings"]] == ["clients/linked"]
    assert as_json["valid"] is True


def test_lookalike_client_id_is_an_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    lookalike = BRIGHT.replace("e", CYRILLIC_E, 1)
    assert lookalike != BRIGHT
    _client(desired / "clients" / "twin.yaml", lookalike, "twin")
    result = invoke(capsys, "validate", str(desired))
    assert result.code == 1
    lines = [line for line in result.out.splitlines() if "looks like" in line]
    assert len(lines) == 1
    assert lines[0].startswith("clients/twin.yaml:1:12: $.client_id: ")
    assert f"'{BRIGHT}'" in lines[0]
    assert "clients/bright-smiles.yaml:2:12" in lines[0]
    assert "U+0435 CYRILLIC SMALL LETTER IE" in lines[0]


def test_lookalike_name_is_an_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desired = copy_example(tmp_path)
    monkeypatch.chdir(desired)  # problems are shown relative to the cwd
    name = f"br{CYRILLIC_I}ght-smiles"
    _client(desired / "clients" / "twin.yaml", "99999999-9999-4999-8999-999999999999", name)
    result = invoke(capsys, "validate", str(desired))
    assert result.code == 1
    lines = [line for line in result.out.splitlines() if "looks like" in line]
    assert len(lines) == 1
    assert lines[0].startswith("clients/twin.yaml:2:7: $.name: ")


def test_distinct_non_ascii_names_are_fine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    desired = copy_example(tmp_path)
    _client(desired / "clients" / "z.yaml", "99999999-9999-4999-8999-999999999999", "zürich")
    _client(desired / "clients" / "m.yaml", "88888888-8888-4888-8888-888888888888", "москва")
    result = invoke(capsys, "validate", str(desired))
    assert (result.code, result.err) == (0, ""), result.out
