"""Batches of client files handled in worker processes, for large trees on multi-core
machines (issue 8). Each worker parses, resolves and runs the batch's task (plan, drift, count)
itself, so only small results cross processes; the parent keeps the file order and merges
problems. `jobs=1` turns it off. In one process, a `Staged` task's store reads for the next
batch run in a helper thread while this batch is planned (issue 15)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from reconciler.desired.cache import CacheConfig, configure, current_config
from reconciler.errors import Problem

if TYPE_CHECKING:
    from concurrent.futures import Future

# Below this many client files a pool costs more (start-up, imports) than it saves.
MIN_FILES = 5000
R = TypeVar("R")
Task = Callable[..., R]


class BatchReader(Protocol):
    """What a worker needs of a desired stream (desired/load.py's DesiredStream); a Protocol,
    so this module does not import the loader that imports it."""

    problems: list[Problem]

    @property
    def source(self) -> Any: ...

    def reset_owners(self) -> None: ...

    def resolve_files(self, files: list[str]) -> list[Any]: ...

    def owner_pairs(self) -> list[tuple[str, str, str]]: ...

    def merge(
        self, problems: list[Problem], owners: list[tuple[str, str, str]], seen: int
    ) -> None: ...


_worker_stream: BatchReader | None = None  # one per worker process, for its whole life


def default_jobs() -> int:
    """`RECONCILER_JOBS`, else 1 (no pool): on the 2-core reference machine the pool did not
    pay (bench/parallel.py); with 4+ free cores pass --jobs."""
    configured = os.environ.get("RECONCILER_JOBS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return 1


def _init_worker(
    stream_type: Callable[[Any], BatchReader], source_type: Any, root: str, cache: CacheConfig
) -> None:
    """Each worker reads the tree itself: the stream and source classes come by reference,
    and the parent's cache settings (--no-cache) with them."""
    global _worker_stream
    configure(enabled=cache.enabled, directory=cache.directory)
    _worker_stream = stream_type(source_type(root))


def _run_chunk(
    files: Sequence[str], task: Task[Any], args: tuple[Any, ...]
) -> tuple[Any, list[Problem], list[tuple[str, str, str]], int]:
    stream = _worker_stream
    assert stream is not None, "worker not initialised"
    stream.problems.clear()
    stream.reset_owners()
    clients = stream.resolve_files(list(files))
    result = task(stream, clients, *args)
    return result, list(stream.problems), stream.owner_pairs(), len(files)


class Staged(Generic[R]):
    """A batch task in three stages: `prepare(stream, batch, *args)` (the batch's clients as
    the task uses them), `fetch(stream, prepared, *args)` (what it reads of the stores and the
    cache: safe to run in another thread, and waiting on I/O most of its time) and
    `finish(stream, prepared, fetched, *args)` (the result). Called as a task, it runs the
    three in turn; `serial_map` runs one batch's `fetch` while the previous batch finishes,
    when `overlap(args)` says the stores allow it. Module-level stages keep it picklable."""

    def __init__(
        self,
        name: str,
        prepare: Callable[..., Any],
        fetch: Callable[..., Any],
        finish: Callable[..., R],
        overlap: Callable[[tuple[Any, ...]], bool],
    ) -> None:
        self.__name__ = name
        self.prepare, self.fetch, self.finish, self.overlap = prepare, fetch, finish, overlap

    def __call__(self, stream: Any, batch: list[Any], *args: Any) -> R:
        prepared = self.prepare(stream, batch, *args)
        return self.finish(stream, prepared, self.fetch(stream, prepared, *args), *args)


def serial_map(
    stream: Any, batches: Iterator[list[Any]], task: Callable[..., R], args: tuple[Any, ...]
) -> Iterator[R]:
    """`task(stream, batch, *args)` over each batch, in this process. A batch and its result
    are released before the next batch is read: between batches the cyclic GC runs once
    (load.py `no_gc`) and scans every object still alive that was allocated while it was off,
    so a batch kept alive across it (its clients, its plans) costs a scan of each object.
    (A `Staged` task keeps one batch more alive: the one whose reads are under way.)"""
    if isinstance(task, Staged) and task.overlap(args):
        yield from _overlapped(stream, batches, task, args)
        return
    for batch in batches:
        result = task(stream, batch, *args)
        del batch
        yield result
        del result


def _overlapped(
    stream: Any, batches: Iterator[list[Any]], task: Staged[R], args: tuple[Any, ...]
) -> Iterator[R]:
    """`serial_map` of a Staged task: batch N+1 is read and prepared and its `fetch` started
    in a helper thread, then batch N is finished (its fetch done meanwhile): the stores work
    on one batch while this process plans the other. Results stay in batch order; an error
    in a fetch is raised where its batch finishes."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconciler-fetch") as pool:
        ahead: tuple[Any, Future[Any]] | None = None
        for batch in batches:
            prepared = task.prepare(stream, batch, *args)
            del batch
            fetching = pool.submit(task.fetch, stream, prepared, *args)
            if ahead is not None:
                result = task.finish(stream, ahead[0], ahead[1].result(), *args)
                ahead = None
                yield result
                del result
            ahead = (prepared, fetching)
            del prepared, fetching
        if ahead is not None:
            yield task.finish(stream, ahead[0], ahead[1].result(), *args)


def parallel_map(
    stream: BatchReader,
    files: Sequence[str],
    task: Task[R],
    args: tuple[Any, ...],
    size: int,
    jobs: int,
) -> Iterator[R]:
    """`task` over batches of `files` in `jobs` workers, results in file order; at most two
    batches per worker are in flight, so memory stays bounded by the batch size."""
    import multiprocessing  # a pool only for a large tree with --jobs
    from concurrent.futures import ProcessPoolExecutor

    chunks: Iterator[Sequence[str]] = iter(
        [files[start : start + size] for start in range(0, len(files), size)]
    )
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("forkserver"),
        initializer=_init_worker,
        initargs=(type(stream), type(stream.source), stream.source.root, current_config()),
    ) as pool:
        pending: deque[Future[tuple[Any, list[Problem], list[tuple[str, str, str]], int]]] = deque()
        for chunk in chunks:
            pending.append(pool.submit(_run_chunk, chunk, task, args))
            if len(pending) >= 2 * jobs:
                break
        while pending:
            result, problems, owners, seen = pending.popleft().result()
            upcoming = next(chunks, None)
            if upcoming is not None:
                pending.append(pool.submit(_run_chunk, upcoming, task, args))
            stream.merge(problems, owners, seen)
            yield result
