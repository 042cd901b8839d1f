"""`--results FILE` and `merge-results`: one shard's result on disk, and the fleet's result put
back together from every shard's (issue 17)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from reconciler.errors import ReconcilerError
from reconciler.live.engine import display_url
from reconciler.plan.drift import DriftReport
from reconciler.plan.merge import (
    MergedResults,
    Result,
    ShardResult,
    merge,
    read_shard_result,
    shard_result_json,
)
from reconciler.plan.model import Plan


def write_results(path: str, result: Result, *, shard: str | None, store_url: str) -> None:
    """Write `result` (a plan, drift report or apply report) with its shard `K/N`, desired
    commit and store (password hidden) to `path`, for `merge_results`.

    Raises:
        ReconcilerError: the path cannot be written.
    """
    commit = result.desired_commit
    store = result.store if isinstance(result, Plan | DriftReport) else display_url(store_url)
    document = shard_result_json(result, shard=shard, store=store, desired_commit=commit)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write results file {path}: {exc.strerror or exc}",
            hint="choose a writable path for --results",
        ) from None


def merge_results(paths: Sequence[str]) -> MergedResults:
    """Combine the `--results` files of every shard of one run into one result.

    Args:
        paths: one file per shard (any order).

    Returns:
        `MergedResults`: the plan, drift report or apply report of the whole fleet, equal to
        an unsharded run's (`result`), with the shard count, files and apply run ids.

    Raises:
        ReconcilerError: a file cannot be read or is not a shard result; the files are of
            different kinds, desired commits, stores or shard counts (naming the files); a
            shard is given twice, or missing ("shard 3/4 missing"). Exit 1.
    """
    return merge([_read(path) for path in paths])


def _read(path: str) -> ShardResult:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconcilerError(
            f"cannot read results file {path}: {exc}", hint="check the path"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReconcilerError(
            f"{path}:{exc.lineno}:{exc.colno}: not a shard result (invalid JSON: {exc.msg})",
            hint="the file may be truncated; rerun that shard with --results",
        ) from None
    return read_shard_result(data, path)
