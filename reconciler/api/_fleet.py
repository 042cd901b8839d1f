"""The batched fleet walk that validate, plan and drift share (issue 8): the desired state
streamed in batches, a task over each batch (api/_batches.py), in an initialised store."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from reconciler.api._shown import shown_errors
from reconciler.api._store import open_store
from reconciler.desired.cache_fleet import claimed_files
from reconciler.desired.load import DesiredStream
from reconciler.desired.parallel import default_jobs
from reconciler.desired.source import GitRevision, WorkingTree
from reconciler.errors import UnknownClients

R = TypeVar("R")
Progress = Callable[[int, int], None]  # (client files done, client files in all)

log = logging.getLogger(__name__)


@contextmanager
def desired_stream(desired_dir: str, ref: str | None) -> Iterator[DesiredStream]:
    """The desired state of the working tree or of git revision `ref`, to read in batches."""
    started = time.perf_counter()
    with shown_errors(desired_dir):  # problems at paths relative to the cwd (issue 16)
        if ref is None:
            stream = DesiredStream(WorkingTree(desired_dir))
            _log_loaded(stream, started)
            yield stream
            return
        with GitRevision(desired_dir, ref) as source:
            stream = DesiredStream(source)
            _log_loaded(stream, started)
            yield stream


def _log_loaded(stream: DesiredStream, started: float) -> None:
    log.info(
        "desired %s at %s: %d modules, %d profiles loaded in %.3f s",
        stream.source.root,
        stream.source.commit or "the working tree",
        len(stream.catalog),
        len(stream.profiles),
        time.perf_counter() - started,
    )


def jobs_or_default(jobs: int | None) -> int:
    return default_jobs() if jobs is None else jobs


def walk(
    stream: DesiredStream,
    task: Callable[..., R],
    args: tuple[Any, ...],
    *,
    client_ids: Sequence[str] = (),
    jobs: int | None = None,
    on_progress: Progress | None = None,
) -> Iterator[R]:
    """`task(stream, batch, *args)` over every batch of the fleet; after the last batch, every
    problem of the desired state is raised, and `--client` ids that no file has."""
    started, batches = time.perf_counter(), 0
    only = _claimed(stream, client_ids)
    for result in stream.map(
        task, args, jobs=jobs_or_default(jobs), on_progress=on_progress, only=only
    ):
        batches += 1
        yield result
        del result  # not kept alive while the next batch is read (DesiredStream._tasks)
    log.info(
        "fleet walk: %d client files in %d batch(es), task %s, %.3f s",
        stream.seen,
        batches,
        getattr(task, "__name__", task),
        time.perf_counter() - started,
    )
    stream.finish()
    unknown = sorted(set(client_ids) - stream.client_ids)
    if unknown:
        raise UnknownClients(
            unknown,
            hint=f"client ids are the client_id of files under {stream.source.root}/clients/",
        )


def _claimed(stream: DesiredStream, client_ids: Sequence[str]) -> list[str] | None:
    """With `--client`, the files claiming those ids when the cache knows the fleet exactly as
    it is to be valid (a full walk found it so): then only they are read. Else None: the
    whole fleet is walked, so every problem of the desired state is still reported."""
    if not client_ids:
        return None
    claimed = claimed_files(
        stream.cache, client_ids, stream.limit, stream.client_files, verdict=True
    )
    if claimed is None:
        log.info("--client: the cache has no verdict on this fleet; walking every client file")
        return None
    read, total = len(claimed.files), claimed.total
    log.info("--client: %d of %d client files read (%s)", read, total, claimed.how)
    stream.problems.extend(claimed.warnings)
    return claimed.files


@contextmanager
def walk_in_store(
    store_url: str,
    desired_dir: str,
    ref: str | None,
    task: Callable[..., R],
    *,
    client_ids: Sequence[str],
    shard: str | None,
    jobs: int | None,
    on_progress: Progress | None,
    extra: tuple[Any, ...] = (),
) -> Iterator[tuple[DesiredStream, Iterator[R]]]:
    """The desired stream, and `task(stream, batch, store_url, client_ids, shard, *extra)` over
    every batch (see `walk`), in an initialised store; for plan and drift."""
    with desired_stream(desired_dir, ref) as stream, open_store(store_url):
        args = (store_url, client_ids, shard, *extra)
        yield (
            stream,
            walk(stream, task, args, client_ids=client_ids, jobs=jobs, on_progress=on_progress),
        )
