"""Which clients a run covers: `--shard K/N` by a stable hash of client_id (SPEC §6)."""

from __future__ import annotations

import hashlib
import re
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
