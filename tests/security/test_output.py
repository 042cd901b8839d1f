"""Issue 18 finding 5: control characters and markup from data never reach a terminal or a PR
comment raw. `validate` refuses them in client ids and names; every text output escapes what
it prints from data; markdown escapes HTML and link/image syntax; `--reason`/`--actor` with a
control character are refused by the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reconciler.render.escape import has_control, md, md_code, term
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients

BRIGHT = EXAMPLE_IDS["bright-smiles"]
HOSTILE_NAME = "x</summary></details> ![t](https://evil.example/p.png) <img src=x> `a|b`"
# A C1 CSI (json.dumps keeps it as is), an OSC title change and a screen clear.
HOSTILE_VALUE = "Bright\x9b2J\x1b]0;pwned\x07\x1b[2J"


def _no_control(text: str) -> bool:
    return not has_control(text.replace("\n", ""))


@pytest.fixture
def demo(store_url: str, tmp_path: Path) -> tuple[str, Path]:
    desired = copy_example(tmp_path)
    add_clients(store_url, EXAMPLE_IDS.values())
    from reconciler.live.demo import seed_demo
    from reconciler.live.engine import make_engine

    seed_demo(make_engine(store_url))
    return store_url, desired


def _rewrite(desired: Path, name: str, old: str, new: str) -> None:
    path = desired / "clients" / name
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_escape_helpers() -> None:
    assert term("a\x1b]0;t\x07\nRUN 99\u202e") == "a\\x1b]0;t\\x07\\nRUN 99\\u202e"
    assert md("![t](https://e/p.png) </summary>") == ("\\!\\[t\\](https://e/p.png) &lt;/summary>")
    assert md_code("a`b|c") == "``a`b\\|c``"
    assert md_code("`x") == "`` `x ``"


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("name", '"evil\\e]0;pwned\\a"', "name"),
        ("name", '"two\\nRUN 99 apply done"', "name"),
        ("client_id", '"74089fb5\\e[2J"', "client_id"),
    ],
)
def test_validate_refuses_control_characters_in_ids_and_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: str, where: str
) -> None:
    desired = copy_example(tmp_path)
    path = desired / "clients" / "bright-smiles.yaml"
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f"{field}:"))
    lines[index] = f"{field}: {value}"
    path.write_text("\n".join(lines) + "\n")
    result = invoke(capsys, "validate", str(desired))
    assert result.code == 1
    assert f"clients/bright-smiles.yaml:{index + 1}:" in result.out
    assert f"$.{where}" in result.out
    assert "control character" in result.out
    assert _no_control(result.out + result.err)


def test_text_outputs_escape_control_characters_from_data(
    demo: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    _rewrite(
        desired,
        "bright-smiles.yaml",
        "welcome_text: Bright Smiles online booking",
        'welcome_text: "' + HOSTILE_VALUE.encode("unicode_escape").decode() + '"',
    )
    plan = invoke(capsys, "plan", "--store", store, "--dir", str(desired))
    assert plan.code == 0, plan.err
    assert "\\x9b2J" in plan.out
    assert _no_control(plan.out)
    applied = invoke(capsys, "apply", "--store", store, "--dir", str(desired), "--yes")
    assert applied.code == 0, applied.err
    assert _no_control(applied.out + applied.err)
    for args in (("status",), ("status", "--client", BRIGHT), ("history", "show", "1")):
        result = invoke(capsys, *args, "--store", store, "--dir", str(desired))
        assert result.code == 0, (args, result.err)
        assert _no_control(result.out + result.err), args
    drift = invoke(capsys, "drift", "--store", store, "--dir", str(desired))
    assert _no_control(drift.out + drift.err)


@pytest.mark.parametrize("option", ["--reason", "--actor"])
def test_cli_refuses_reason_or_actor_with_control_characters(
    demo: tuple[str, Path], capsys: pytest.CaptureFixture[str], option: str
) -> None:
    store, desired = demo
    forged = "fix\n   99  apply   done           6  2026-01-01T00:00:00+00:00 root: forged"
    result = invoke(
        capsys, "apply", "--store", store, "--dir", str(desired), "--yes", option, forged
    )
    assert result.code == 1
    assert f"error: {option} must not contain control characters" in result.err
    assert _no_control(result.err)
    history = invoke(capsys, "history", "--store", store)
    assert history.out == "No runs recorded yet.\n"


def test_history_escapes_a_recorded_reason(
    demo: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A reason recorded by another tool (or an older version) is still printed inert."""
    store, desired = demo
    from reconciler import api
    from reconciler.results import RunMeta

    planned = api.plan(store, str(desired))
    api.apply(store, planned, meta=RunMeta(actor="ci\x1b]0;t\x07", reason="a\nRUN 99 forged"))
    text = invoke(capsys, "history", "--store", store)
    assert text.code == 0
    assert "a\\nRUN 99 forged" in text.out
    assert _no_control(text.out)
    assert not any(line.lstrip().startswith("RUN 99") for line in text.out.splitlines())
    markdown = invoke(capsys, "history", "--store", store, "--format", "markdown")
    assert len(markdown.out.splitlines()) == 3
    assert _no_control(markdown.out)


def _structure_intact(markdown: str) -> None:
    assert "![t](" not in markdown
    assert "<img" not in markdown
    assert "</summary></details>" not in markdown.replace("&lt;/summary&gt;&lt;/details&gt;", "")
    assert _no_control(markdown)


def test_markdown_escapes_markup_in_names(
    demo: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    store, desired = demo
    _rewrite(desired, "bright-smiles.yaml", "name: bright-smiles", f"name: '{HOSTILE_NAME}'")
    assert invoke(capsys, "validate", str(desired)).code == 0
    plan = invoke(capsys, "plan", "--store", store, "--dir", str(desired), "--format", "markdown")
    assert plan.code == 0, plan.err
    _structure_intact(plan.out)
    sections = len(re.findall(r"^<details( open)?>", plan.out, flags=re.M))
    assert plan.out.count("</details>") == sections > 0
    assert "&lt;/summary&gt;&lt;/details&gt;" in plan.out
    for args in (("status",), ("status", "--client", BRIGHT), ("drift",)):
        result = invoke(
            capsys, *args, "--store", store, "--dir", str(desired), "--format", "markdown"
        )
        assert result.code in (0, 2), (args, result.err)
        _structure_intact(result.out)
