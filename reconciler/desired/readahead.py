"""One batch read ahead (issue 15): while a fleet walk's task works on one batch of clients,
a helper thread reads the next one from the desired-state cache.

A warm walk's tasks spend much of their time waiting for the database (plan and drift read
live fingerprints and rows) while reading the next batch from the cache needs the interpreter:
on a warm dashboard's first classification the two overlap instead of adding up. Parsing YAML
holds the interpreter as the tasks' diffs do, and a thread that makes system calls while
another computes waits for the interpreter at each of them: so the rest is read ahead only
when `when()`, asked once the first batch is read, says so (it came from the cache).
Batches come out in order, at most one is held ahead, errors are raised where the caller
iterates, and the thread is finished (its generator closed) before the iterator is, whether
it is exhausted or abandoned: nothing reads the tree once the walk is over.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Generator
from typing import TypeVar, cast

T = TypeVar("T")

_END = object()


def read_ahead(
    batches: Generator[T, None, None], when: Callable[[], bool] = lambda: True
) -> Generator[T, None, None]:
    """The items of `batches`; after the first, each computed in a helper thread while the
    previous one is used, if `when()` (asked after the first) says so."""
    try:
        first = next(batches)
    except StopIteration:
        return
    if not when():
        try:
            yield first
            yield from batches
        finally:
            batches.close()
        return
    slot: queue.Queue[tuple[object, BaseException | None]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in batches:
                slot.put((item, None))
                if stop.is_set():
                    return
            slot.put((_END, None))
        except BaseException as exc:  # raised again in the caller's thread
            slot.put((_END, exc))
        finally:
            batches.close()

    thread = threading.Thread(target=produce, name="reconciler-read-ahead", daemon=True)
    thread.start()
    try:
        yield first
        while True:
            item, error = slot.get()
            if error is not None:
                raise error
            if item is _END:
                return
            yield cast(T, item)
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting to hand over a batch
            with contextlib.suppress(queue.Empty):
                slot.get_nowait()
            thread.join(0.01)
