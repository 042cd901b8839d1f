"""--jobs N: worker processes give exactly the serial results, problems included."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler import api
from reconciler.desired import load
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example
from tests.helpers import add_clients

MANY_ERRORS = Path(__file__).parents[1] / "fixtures" / "desired" / "many-errors"


@pytest.fixture(autouse=True)
def _pool_for_small_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "MIN_FILES", 0)
    monkeypatch.setattr(load, "BATCH_SIZE", 2)  # several batches, duplicates across them


def test_plan_and_drift_equal_serial(store_url: str, tmp_path: Path) -> None:
    desired = str(copy_example(tmp_path))
    add_clients(store_url, EXAMPLE_IDS.values())
    serial = api.plan(store_url, desired, jobs=1)
    parallel = api.plan(store_url, desired, jobs=2)
    assert parallel.to_json() == serial.to_json()
    assert [c.target for c in parallel.clients] == [c.target for c in serial.clients]
    assert (
        api.drift(store_url, desired, jobs=2).to_json()
        == api.drift(store_url, desired, jobs=1).to_json()
    )


def test_problems_equal_serial(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    shutil.copytree(MANY_ERRORS, tree)
    serial = api.check(str(tree), jobs=1)
    parallel = api.check(str(tree), jobs=2)
    assert not serial.valid
    assert [str(p) for p in parallel.problems] == [str(p) for p in serial.problems]
    assert parallel.to_json() == serial.to_json()
    assert any("is also used in" in str(p) for p in parallel.problems)


@pytest.mark.parametrize("jobs", [1, 2])
def test_progress_follows_each_batch(store_url: str, tmp_path: Path, jobs: int) -> None:
    desired = str(copy_example(tmp_path))
    seen: list[tuple[int, int]] = []
    api.plan(
        store_url, desired, jobs=jobs, on_progress=lambda done, total: seen.append((done, total))
    )
    assert seen == [(2, 6), (4, 6), (6, 6)]
