"""The spool between a streamed apply's two passes: exact, ordered, sealed (issue 15)."""

from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from reconciler.apply.spool import Spool
from reconciler.model import ClientLive, LegacyRow, RegistryModule

A = "0ee6a19a-b01d-4773-8a91-d6023ddab802"
B = "74089fb5-e782-426b-ad85-c7990bd21638"
C = "e3189a23-3157-4c72-aacf-e644df46c05e"


def target(cid: str, password: str = "hunter2") -> ClientLive:
    return ClientLive(
        client_id=cid,
        legacy=LegacyRow(
            modules_enabled=("forms", "support"),
            theme_overrides={"primary": "#0af", "fonts": ["Inter", 1.5, None, True]},
            consultation_config=None,
            plan_catalog_overrides={},
            catalog_overrides={"x": {"y": [1, {"z": False}]}},
        ),
        registry={
            "forms": RegistryModule(enabled=True, version="1.2.0", settings={"max": 3}),
            "mail": RegistryModule(enabled=False, version=None, settings={"pw": password}),
        },
    )


def test_jobs_come_back_exactly_in_client_id_order() -> None:
    states = {C: target(C), A: ClientLive(client_id=A), B: target(B, "other")}
    with Spool() as spool:
        for cid, state in states.items():
            spool.add(cid, f"fp-{cid}", state)
        spool.add(C, "fp-again", states[C])  # a client added again keeps its last record
        jobs = list(spool)
        assert len(spool) == 3
        assert C in spool
    assert [j.client_id for j in jobs] == [A, B, C]
    assert [j.expected_fingerprint for j in jobs] == [f"fp-{A}", f"fp-{B}", "fp-again"]
    for job in jobs:
        back = job.target(ClientLive(client_id=job.client_id))
        assert back == states[job.client_id]
        assert type(back.legacy.modules_enabled if back.legacy else ()) is tuple


def test_records_are_sealed_and_bound_to_their_client() -> None:
    with Spool() as spool:
        spool.add(A, "fp", target(A, "s3cr3t-value"))
        spool.add(B, "fp", target(B, "s3cr3t-value"))
        raw = os.pread(spool._file.fileno(), spool.size, 0)
        assert b"s3cr3t-value" not in raw
        assert A.encode() not in raw
        # A record moved to another client's place does not decrypt: never a wrong target.
        offset_a, _ = spool._index[A]
        spool._index[B] = spool._index[A]
        with pytest.raises(InvalidTag):
            spool.read(B)
        # Nor does a changed byte.
        os.pwrite(spool._file.fileno(), bytes([raw[offset_a + 20] ^ 1]), offset_a + 20)
        with pytest.raises(InvalidTag):
            spool.read(A)


def test_closing_deletes_the_spool() -> None:
    spool = Spool()
    spool.add(A, "fp", target(A))
    descriptor = spool._file.fileno()
    with spool:
        pass
    assert len(spool) == 0
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(descriptor)
