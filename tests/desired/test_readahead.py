"""One batch read ahead (reconciler/desired/readahead.py): order, errors where the caller
iterates, at most one item ahead, and nothing left running once the caller stops."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from reconciler.desired.readahead import read_ahead


def test_items_come_in_order_each_computed_while_the_previous_one_is_used() -> None:
    made: list[int] = []
    used = threading.Event()

    def source() -> Generator[int]:
        for n in range(5):
            if n == 2:  # the third is computed only after the first is in the caller's hands
                assert used.wait(10)
            made.append(n)
            yield n

    seen = []
    for n in read_ahead(source()):
        if n == 0:
            used.set()
        seen.append(n)
    assert seen == [0, 1, 2, 3, 4]
    assert made == seen


def test_at_most_one_item_is_held_ahead() -> None:
    made: list[int] = []
    second = threading.Event()

    def source() -> Generator[int]:
        for n in range(10):
            made.append(n)
            if n == 2:
                second.set()
            yield n

    items = read_ahead(source())
    assert next(items) == 0
    assert second.wait(10)  # 1 waits in the slot, 2 is made and waits to be handed over
    assert made == [0, 1, 2]
    items.close()


def test_an_error_is_raised_where_the_caller_iterates_after_the_items_before_it() -> None:
    def source() -> Generator[int]:
        yield 1
        raise ValueError("broken file")

    items = read_ahead(source())
    assert next(items) == 1
    with pytest.raises(ValueError, match="broken file"):
        next(items)


def test_a_caller_that_stops_early_leaves_nothing_running() -> None:
    closed = threading.Event()

    def source() -> Generator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    before = set(threading.enumerate())
    items = read_ahead(source())
    assert [next(items), next(items)] == [0, 1]
    items.close()  # the caller's loop ended (break, an error in its body)
    assert closed.is_set()  # the source's own cleanup ran before close() returned
    assert set(threading.enumerate()) <= before


def test_without_when_the_items_are_read_in_the_callers_thread() -> None:
    threads: set[threading.Thread] = set()
    closed = threading.Event()

    def source() -> Generator[int]:
        try:
            for n in range(3):
                threads.add(threading.current_thread())
                yield n
        finally:
            closed.set()

    asked: list[int] = []

    def cold() -> bool:  # asked once, after the first item (a cold cache: parse in place)
        asked.append(len(threads))
        return False

    items = read_ahead(source(), cold)
    assert [next(items), next(items)] == [0, 1]
    assert asked == [1]
    assert threads == {threading.current_thread()}
    items.close()
    assert closed.is_set()
    assert list(read_ahead(source(), cold)) == [0, 1, 2]
