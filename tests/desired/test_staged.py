"""Staged batch tasks (issue 15): in one process, the next batch's store reads run in a helper
thread while this batch is finished; results, their order and errors are as a plain walk's."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import api
from reconciler.api import _batches
from reconciler.desired import load
from reconciler.desired.parallel import Staged, serial_map
from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example
from tests.helpers import add_clients


class Recorder:
    """A Staged task over batches of ints that records which thread ran each stage, when."""

    def __init__(self, overlap: bool, fail_on: int | None = None) -> None:
        self.events: list[str] = []
        self.threads: dict[str, str] = {}
        self.fail_on = fail_on
        self.task = Staged("recorded", self.prepare, self.fetch, self.finish, lambda _: overlap)

    def prepare(self, _stream: object, batch: list[int], scale: int) -> list[int]:
        self.events.append(f"prepare {batch[0]}")
        return [n * scale for n in batch]

    def fetch(self, _stream: object, prepared: list[int], _scale: int) -> int:
        self.threads[f"fetch {prepared[0]}"] = threading.current_thread().name
        if prepared[0] == self.fail_on:
            raise RuntimeError(f"store unreachable while reading batch {prepared[0]}")
        return sum(prepared)

    def finish(self, _stream: object, prepared: list[int], total: int, scale: int) -> str:
        self.events.append(f"finish {prepared[0] // scale}")
        return f"{prepared}={total}"


def _batches_of(*firsts: int) -> Iterator[list[int]]:
    return iter([[first, first + 1] for first in firsts])


def test_results_keep_batch_order_and_equal_the_task_run_in_turn() -> None:
    recorder = Recorder(overlap=True)
    results = list(serial_map(None, _batches_of(1, 3, 5), recorder.task, (10,)))
    assert results == ["[10, 20]=30", "[30, 40]=70", "[50, 60]=110"]
    assert results == [recorder.task(None, b, 10) for b in _batches_of(1, 3, 5)]


def test_the_next_batch_is_read_before_this_one_finishes_in_a_helper_thread() -> None:
    recorder = Recorder(overlap=True)
    list(serial_map(None, _batches_of(1, 3, 5), recorder.task, (10,)))
    assert recorder.events == [
        "prepare 1",
        "prepare 3",
        "finish 1",
        "prepare 5",
        "finish 3",
        "finish 5",
    ]
    assert set(recorder.threads) == {"fetch 10", "fetch 30", "fetch 50"}
    assert all(name.startswith("reconciler-fetch") for name in recorder.threads.values())


def test_without_overlap_each_batch_runs_in_turn_in_this_thread() -> None:
    recorder = Recorder(overlap=False)
    results = list(serial_map(None, _batches_of(1, 3), recorder.task, (10,)))
    assert results == ["[10, 20]=30", "[30, 40]=70"]
    assert recorder.events == ["prepare 1", "finish 1", "prepare 3", "finish 3"]
    assert set(recorder.threads.values()) == {threading.current_thread().name}


def test_a_fetch_error_is_raised_where_its_batch_finishes() -> None:
    recorder = Recorder(overlap=True, fail_on=30)
    walk = serial_map(None, _batches_of(1, 3, 5), recorder.task, (10,))
    assert next(walk) == "[10, 20]=30"
    with pytest.raises(RuntimeError, match="store unreachable while reading batch 30"):
        next(walk)
    assert "finish 3" not in recorder.events


@pytest.fixture
def _small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(load, "BATCH_SIZE", 2)  # the example's clients in several batches


@pytest.mark.usefixtures("_small_batches")
def test_an_overlapped_plan_equals_one_planned_in_turn(
    pg_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desired = str(copy_example(tmp_path))
    add_clients(pg_store, EXAMPLE_IDS.values())
    assert _batches.plan.overlap((pg_store,))  # PostgreSQL: reads overlap planning
    overlapped = api.plan(pg_store, desired, jobs=1)
    again = api.plan(pg_store, desired, jobs=1)  # answered by the memo this time
    monkeypatch.setattr(_batches.plan, "overlap", lambda _args: False)
    in_turn = api.plan(pg_store, desired, jobs=1)
    assert overlapped.clients  # the example has changes to plan
    assert overlapped.to_json() == in_turn.to_json() == again.to_json()
    assert [c.target for c in overlapped.clients] == [c.target for c in in_turn.clients]


def test_sqlite_stores_are_planned_in_turn(tmp_path: Path) -> None:
    assert not _batches.plan.overlap((f"sqlite:///{tmp_path}/store.db",))
    assert not _batches.plan_counted.overlap((f"sqlite:///{tmp_path}/store.db",))


@pytest.mark.usefixtures("_small_batches")
def test_an_overlapped_drift_report_equals_one_classified_in_turn(
    pg_store: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    desired = str(copy_example(tmp_path))
    add_clients(pg_store, EXAMPLE_IDS.values())
    applied = api.apply(pg_store, api.plan(pg_store, desired), force=True)
    assert applied.ok
    assert _batches.drift.overlap((pg_store,))
    overlapped = api.drift(pg_store, desired, jobs=1).to_json()
    again = api.drift(pg_store, desired, jobs=1).to_json()  # answered by the memo this time
    monkeypatch.setattr(_batches.drift, "overlap", lambda _args: False)
    in_turn = api.drift(pg_store, desired, jobs=1).to_json()
    assert overlapped == in_turn == again
    assert overlapped["summary"]["clients"] == len(EXAMPLE_IDS)
