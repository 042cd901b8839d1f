"""The package layers (STYLE §1) are import-linter contracts in pyproject.toml; `.ci/run` runs
`lint-imports`. These tests run it on the real tree and on a copy with one wrong import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--no-cache"], cwd=root, env=env, capture_output=True, text=True, check=False
    )


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(
        REPO / "reconciler", root / "reconciler", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(REPO / "pyproject.toml", root / "pyproject.toml")
    return root


def test_the_tree_keeps_every_contract(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "wrong_import", "broken"),
    [
        ("render/color.py", "import reconciler.live.engine", "render/ reads no store BROKEN"),
        ("plan/diff.py", "import sqlalchemy", "plan/ is pure: no store, YAML, git or web BROKEN"),
        ("live/state.py", "import reconciler.desired.load", "never import each other BROKEN"),
        ("model.py", "import reconciler.api", "faces -> api -> core -> results -> model BROKEN"),
    ],
)
def test_a_wrong_import_breaks_a_contract(
    tmp_path: Path, module: str, wrong_import: str, broken: str
) -> None:
    root = _copy(tmp_path)
    target = root / "reconciler" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{wrong_import}  # noqa\n")
    result = _lint(root)
    assert result.returncode == 1
    assert broken in result.stdout


def test_no_module_is_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (REPO / "reconciler").rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > 400} == {}


def test_no_import_cycles() -> None:
    grimp = pytest.importorskip("grimp")  # import-linter's graph library
    graph = grimp.build_graph("reconciler")
    cycles = [
        (module, other)
        for module in sorted(graph.modules)
        for other in sorted(graph.find_modules_directly_imported_by(module))
        if graph.chain_exists(importer=other, imported=module)
    ]
    assert cycles == []  # e.g. desired/load <-> desired/parallel, web/app <-> web/pages before
