"""reconciler/plan/select.py: `--shard K/N` is deterministic, disjoint and covers every client."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from reconciler.errors import ReconcilerError
from reconciler.plan.select import Shard, parse_shard, shard_of

IDS = [str(uuid.UUID(int=i * 7919 + 13, version=4)) for i in range(5000)] + [
    "acme",
    "",
    "ünïcode-client",
    "1234",
]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 8, 16, 100])
def test_shards_are_disjoint_and_cover_every_client(count: int) -> None:
    owners = {cid: [k for k in range(1, count + 1) if cid in Shard(k, count)] for cid in IDS}
    assert all(len(found) == 1 for found in owners.values())
    sizes = [sum(1 for found in owners.values() if found == [k]) for k in range(1, count + 1)]
    assert sum(sizes) == len(IDS)
    if count <= 16:  # a hash split: every shard gets a fair share
        assert min(sizes) > len(IDS) / count * 0.8


def test_shard_of_is_stable_across_runs() -> None:
    # sha256-based, so the same on every machine and Python (no PYTHONHASHSEED involved).
    ids = ("acme", "1234", "0ee6a19a-b01d-4773-8a91-d6023ddab802")
    assert [shard_of(cid, 8) for cid in ids] == [1, 5, 3]
    digest = hashlib.sha256(b"acme").digest()
    assert shard_of("acme", 8) == int.from_bytes(digest[:8], "big") % 8 + 1


@pytest.mark.parametrize(
    ("text", "expected"), [("1/1", Shard(1, 1)), ("2/8", Shard(2, 8)), (" 3 / 4 ", Shard(3, 4))]
)
def test_parse_shard(text: str, expected: Shard) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "a/b", "1", "-1/2", "1/2/3"])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(ReconcilerError) as err:
        parse_shard(text)
    assert err.value.message == f"invalid --shard {text!r}"
