"""Every command supports every format it lists (one output contract: render.write)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import click
import pytest

from reconciler.cli import cli
from reconciler.model import OUTPUT_FORMAT_VERSION
from reconciler.render import FORMATS, LAYOUTS, type_name, writer
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients

ACME = EXAMPLE_IDS["acme-dental"]


def _commands(
    group: click.Group, prefix: tuple[str, ...] = ()
) -> dict[tuple[str, ...], click.Command]:
    ctx = click.Context(group)
    found: dict[tuple[str, ...], click.Command] = {}
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        found[(*prefix, name)] = command
        if isinstance(command, click.Group):
            found.update(_commands(command, (*prefix, name)))
    return found


def _listed_formats(command: click.Command) -> tuple[str, ...]:
    for param in command.params:
        if param.name == "fmt":
            assert isinstance(param.type, click.Choice)
            return tuple(str(c) for c in param.type.choices)
    return ()


def test_every_command_lists_formats_the_renderer_has() -> None:
    listed = {path: _listed_formats(c) for path, c in _commands(cli).items()}
    with_format = {path for path, formats in listed.items() if formats}
    assert with_format >= {
        ("validate",),
        ("status",),
        ("plan",),
        ("apply",),
        ("history",),
        ("history", "show"),
        ("revert",),
        ("drift",),
        ("import",),
    }
    for path in with_format:
        assert set(listed[path]) <= set(FORMATS) | {"github", "sarif", "junit"}, path


def test_every_result_type_has_text_and_markdown() -> None:
    for name, layouts in LAYOUTS.items():
        assert {"text", "markdown"} <= set(layouts), name


def test_layouts_name_result_types_and_writers_that_exist() -> None:
    """LAYOUTS names its types and writers (imported on use): each name resolves."""
    for name, layouts in LAYOUTS.items():
        module, class_name = name.split(":")
        assert type_name(getattr(importlib.import_module(module), class_name)) == name
        for target in layouts.values():
            assert callable(writer(target)), target


@pytest.fixture
def fleet(store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    """The example desired state applied once over the demo live state: one run to show."""
    desired = str(copy_example(tmp_path))
    add_clients(store_url, EXAMPLE_IDS.values())
    assert invoke(capsys, "init", "--demo", "--store", store_url).code == 0
    applied = invoke(capsys, "apply", "--yes", "--store", store_url, "--dir", desired)
    assert applied.code == 0, applied.err
    return store_url, desired


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_command_writes_each_format(
    capsys: pytest.CaptureFixture[str], fleet: tuple[str, str], tmp_path: Path, fmt: str
) -> None:
    store, desired = fleet
    where = ("--store", store)
    commands = {
        "validate": ("validate", desired),
        "status": ("status", *where, "--dir", desired),
        "status --client": ("status", *where, "--dir", desired, "--client", ACME),
        "plan": ("plan", *where, "--dir", desired),
        "history": ("history", *where),
        "history show": ("history", "show", "1", *where, "--dir", desired),
        "drift": ("drift", *where, "--dir", desired),
        "import": ("import", *where, "--dir", desired, "--out", str(tmp_path / f"import-{fmt}")),
        "apply": ("apply", "--yes", *where, "--dir", desired),
    }
    outputs = {}
    for name, args in commands.items():
        result = invoke(capsys, *args[:1], *args[1:], "--format", fmt)
        assert result.code in (0, 2), (name, result.err)
        outputs[name] = result.out
        if fmt == "json":
            assert json.loads(result.out)["format_version"] == OUTPUT_FORMAT_VERSION, name
        elif fmt == "markdown":
            assert result.out.lstrip().startswith(("#", "|", "**")), (name, result.out[:200])
    if fmt == "markdown":  # `history show --format markdown` printed text before
        assert "| run | kind | status |" in outputs["history show"]
        assert "| path | before | after |" in outputs["history show"]
    revert = invoke(capsys, "revert", "1", "--yes", *where, "--format", fmt)
    assert revert.code == 0, revert.err
    if fmt == "json":
        assert json.loads(revert.out)["kind"] == "revert"
