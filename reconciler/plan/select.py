"""Which clients a run covers: `--shard K/N` by a stable hash of client_id (SPEC §6), and
`--shard auto` from a job engine's environment (issue 17)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.errors import ReconcilerError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True, slots=True)
class Shard:
    index: int  # 1-based
    count: int

    def __contains__(self, client_id: object) -> bool:
        return shard_of(str(client_id), self.count) == self.index


def shard_of(client_id: str, count: int) -> int:
    """The 1-based shard of a client among `count`; the same on every machine and run."""
    digest = hashlib.sha256(client_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def parse_shard(text: str | None) -> Shard | None:
    """`K/N` with 1 <= K <= N, or None when not given."""
    if text is None:
        return None
    match = _SHARD.match(text)
    if not match or not 1 <= int(match.group(1)) <= int(match.group(2)):
        raise ReconcilerError(
            f"invalid --shard {text!r}",
            hint="use K/N with 1 <= K <= N, e.g. --shard 2/8 for the second of eight workers",
        )
    return Shard(int(match.group(1)), int(match.group(2)))


AUTO = "auto"
INDEX_VAR = "JOB_COMPLETION_INDEX"  # Kubernetes Indexed Jobs: 0-based completion index
COUNT_VAR = "RECONCILER_SHARDS"  # the Job's `completions`, passed to the container


def resolve_shard(
    text: str | None, *, shards: int | None = None, environ: Mapping[str, str]
) -> str | None:
    """`--shard` as `K/N` (or None): `auto` takes K from the job engine's environment
    (`JOB_COMPLETION_INDEX`, 0-based, so K = index + 1) and N from `--shards` or
    `RECONCILER_SHARDS`; an explicit `K/N` (a CI matrix) is checked and kept."""
    if text is None or text.strip().lower() != AUTO:
        if shards is not None and text is None:
            raise ReconcilerError(
                "--shards needs --shard auto",
                hint="--shards N is the shard count of `--shard auto`; "
                "or give --shard K/N explicitly",
            )
        parsed = parse_shard(text)
        if parsed is not None and shards is not None and shards != parsed.count:
            raise ReconcilerError(
                f"--shard {text} disagrees with --shards {shards}",
                hint="give the shard count once: --shard K/N, or --shard auto --shards N",
            )
        return None if parsed is None else f"{parsed.index}/{parsed.count}"
    index_text = environ.get(INDEX_VAR)
    if index_text is None or not index_text.strip():
        raise ReconcilerError(
            f"--shard auto: {INDEX_VAR} is not set, so the shard index is unknown",
            hint="run it in a Kubernetes Indexed Job (completionMode: Indexed), "
            "or give the shard explicitly, e.g. --shard ${{ matrix.shard }}/4 in a CI matrix",
        )
    count = shards if shards is not None else _count_from(environ)
    if not index_text.strip().isdigit():
        raise ReconcilerError(
            f"--shard auto: {INDEX_VAR}={index_text!r} is not a non-negative integer",
            hint="Kubernetes sets it to the 0-based completion index of an Indexed Job",
        )
    index = int(index_text)
    if index >= count:
        raise ReconcilerError(
            f"--shard auto: {INDEX_VAR}={index} is outside {count} shard(s) "
            f"(0-based indexes 0..{count - 1})",
            hint=f"set {COUNT_VAR} (or --shards) to the Job's `completions`",
        )
    return f"{index + 1}/{count}"


def _count_from(environ: Mapping[str, str]) -> int:
    text = environ.get(COUNT_VAR, "").strip()
    if not text:
        raise ReconcilerError(
            f"--shard auto: the shard count is unknown ({COUNT_VAR} is not set)",
            hint=f"pass --shards N or set {COUNT_VAR} to the Job's `completions`",
        )
    if not text.isdigit() or int(text) < 1:
        raise ReconcilerError(
            f"--shard auto: {COUNT_VAR}={text!r} is not a positive integer",
            hint=f"set {COUNT_VAR} to the Job's `completions`, e.g. 4",
        )
    return int(text)
