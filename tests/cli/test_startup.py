"""Start-up (issue 15): a command imports only what its path needs.

Each command runs as a fresh `python -X importtime -m reconciler ...` process and the modules it
imported are read from the importtime lines on stderr. The libraries that cost tens of
milliseconds or pull in a stack (web, CEL, crypto, HTTP, the schema validator) must appear only
on the paths that use them. No timings are asserted: bench/startup.py measures those.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click import Context
from click.testing import CliRunner

from reconciler.cli import SHORT_HELP, VERBS, cli
from reconciler.live.demo import DEMO_LIVE
from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS
from tests.helpers import add_clients

ACME = EXAMPLE_IDS["acme-dental"]
# Top-level packages watched: only the paths that use them may import them.
WATCHED = frozenset(
    {
        "jsonschema",
        "referencing",
        "starlette",
        "uvicorn",
        "jinja2",
        "httpx",
        "rich",
        "celpy",
        "lark",
        "cryptography",
        "prometheus_client",
        "tenacity",
        "kubernetes_validate",
        "confusable_homoglyphs",
        "sqlalchemy",
        "psycopg",
        "yaml",
    }
)
_LINE = re.compile(r"^import time:\s*\d+ \|\s*\d+ \| ( *)(\S+)$")


def imported(*args: str, cwd: Path) -> set[str]:
    """Every module a `reconciler ARGS` process imported (it must succeed), by -X importtime."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    modules = {m.group(2) for line in done.stderr.splitlines() if (m := _LINE.match(line))}
    assert "reconciler.cli" in modules  # the lines were parsed
    return modules


def watched(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules} & WATCHED


@pytest.mark.parametrize("args", [("--version",), ("--help",)], ids=" ".join)
def test_version_and_help_import_nothing_heavy(tmp_path: Path, args: tuple[str, ...]) -> None:
    modules = imported(*args, cwd=tmp_path)
    assert watched(modules) == set()
    ours = {m for m in modules if m.startswith("reconciler")}
    assert ours == {
        "reconciler",
        "reconciler.cli",
        "reconciler.errors",
        "reconciler.redact",
        "reconciler.render",
        "reconciler.render.escape",
    }


@pytest.fixture
def status_tree(tmp_path: Path, store_url: str) -> tuple[str, Path]:
    """The demo live state, and the example desired state without policies/ (see the test
    below for what policies add)."""
    add_clients(store_url, [c.client_id for c in DEMO_LIVE])
    from reconciler.api.init import init

    init(store_url, demo=True)
    tree = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, tree, ignore=shutil.ignore_patterns("policies"))
    return store_url, tree


def test_status_client_imports_the_store_and_yaml_only(status_tree: tuple[str, Path]) -> None:
    """`status --client` (desired state parsed, no cache yet): SQLAlchemy, the driver of a
    PostgreSQL store, the YAML parser; not jsonschema (every file is valid, and the client's
    secret references sit at sensitive places), nor the web stack, CEL, crypto or HTTP."""
    store, tree = status_tree
    modules = imported(
        "status", "--client", ACME, "--store", store, "--dir", str(tree), cwd=tree.parent
    )
    driver = {"psycopg"} if store.startswith("postgresql") else set()
    assert watched(modules) == {"sqlalchemy", "yaml", *driver}
    assert "reconciler.render.status" in modules
    assert not {m for m in modules if m.startswith(("reconciler.web", "reconciler.apply"))}
    others = {m for m in modules if m.startswith(("reconciler.api.", "reconciler.render."))}
    assert others == {
        "reconciler.api._store",
        "reconciler.api.status",
        "reconciler.render.color",
        "reconciler.render.escape",
        "reconciler.render.status",
    }


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_status_client_with_policies_imports_no_cel(status_tree: tuple[str, Path]) -> None:
    """status judges no plan: a tree's policies/ are not read, so no cel-python."""
    store, tree = status_tree
    shutil.copytree(EXAMPLE / "policies", tree / "policies")
    modules = imported(
        "status", "--client", ACME, "--store", store, "--dir", str(tree), cwd=tree.parent
    )
    assert watched(modules) == {"sqlalchemy", "yaml"}


def test_validate_of_a_valid_tree_needs_no_jsonschema(tmp_path: Path) -> None:
    tree = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, tree)
    modules = imported("validate", str(tree), cwd=tmp_path)
    assert "jsonschema" not in watched(modules)
    assert not watched(modules) & {"httpx", "tenacity", "cryptography", "starlette", "rich"}


def test_an_invalid_file_still_gets_jsonschemas_messages(tmp_path: Path) -> None:
    tree = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, tree)
    client = tree / "clients" / "acme-dental.yaml"
    client.write_text(
        client.read_text().replace(
            "\nname: acme-dental\n", "\nname: acme-dental\nstrategy: sometimes\n"
        )
    )
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "reconciler", "validate", str(tree)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 1
    assert re.search(r"\| +jsonschema$", done.stderr, re.MULTILINE)
    assert done.stdout.endswith(
        "clients/acme-dental.yaml:4:11: $.strategy: 'sometimes' is not one of: merge, replace, "
        "preserve\n1 problem in 1 file\n"
    )


def test_importing_a_verb_imports_only_its_own_operation() -> None:
    code = (
        "import sys, reconciler.cli.status\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('reconciler.'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.split())
    assert {m for m in modules if m.startswith(("reconciler.api", "reconciler.cli"))} == {
        "reconciler.api",
        "reconciler.api._store",
        "reconciler.api.status",
        "reconciler.cli",
        "reconciler.cli.options",
        "reconciler.cli.status",
    }


def test_help_lists_every_command_with_its_short_help() -> None:
    result = CliRunner().invoke(cli, ["--help"], prog_name="reconciler", env={})
    assert result.exit_code == 0
    listing = " ".join(result.output.split("Commands:")[1].split())
    assert set(SHORT_HELP) == set(VERBS)
    for name in VERBS:
        assert f"{name} {SHORT_HELP[name]}" in listing, name
        command = cli.get_command(Context(cli), name)
        assert command is not None
        assert command.name == name


def test_api_functions_stay_functions_whatever_is_imported_first() -> None:
    """`reconciler.api` imports nothing until asked; `api.plan` is the function even after
    `import reconciler.api.plan` bound the module's name on the package."""
    code = (
        "import sys, inspect\n"
        "import reconciler.api as api\n"
        "assert not [m for m in sys.modules if m.startswith('reconciler.api.')], sys.modules\n"
        "import reconciler.api.plan, reconciler.api.status\n"
        "from reconciler.api import apply_saved, validate\n"
        "from reconciler.api.plan import plan\n"
        "names = ['plan', 'status', 'apply_saved', 'validate', 'rollout_start', 'history']\n"
        "assert all(inspect.isfunction(getattr(api, n)) for n in names)\n"
        "assert api.plan is plan and reconciler.api.status is api.status\n"
        "assert sorted(api.__all__) == sorted(api.FUNCTIONS) == api.__all__\n"
        "assert inspect.ismodule(sys.modules['reconciler.api.plan'])\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout == "ok\n", done.stderr
