"""A streamed apply's work between its two passes (issue 15): per client with something to
write, the live fingerprint it was planned against and the target state, on disk.

Pass 1 plans the fleet batch by batch and spools each writing client here instead of keeping
the fleet's Plan in memory; pass 2 reads the spool back a batch of jobs at a time, in client
id order (as `plan_jobs` orders them), so memory grows with a batch and an index of ids.

Targets hold resolved secret values (issue 18), so the spool never holds them in clear: it is
an anonymous temporary file (unlinked at once, gone with the process) whose records are
sealed with AES-GCM under a key that exists only in this process's memory; each record is
bound to its client id. A record read back is therefore exactly what this run wrote.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from typing import IO, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reconciler.apply import transaction
from reconciler.apply.transaction import Job
from reconciler.model import ClientLive, LegacyRow, RegistryModule

_NONCE_BYTES = 12


class Spool:
    """Writing clients of a streamed plan: `add` in any order, iterate jobs in id order."""

    def __init__(self, directory: str | None = None) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed by close()
        self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        self._index: dict[str, tuple[int, int]] = {}  # client id -> (offset, length)
        self._end = 0
        self._count = 0  # records written: the nonce counter (never reused under the key)

    def add(self, client_id: str, live_fingerprint: str, target: ClientLive) -> None:
        """Spool one client's work; a client added twice keeps its last record."""
        self._count += 1
        nonce = self._count.to_bytes(_NONCE_BYTES, "big")
        record = pickle.dumps((live_fingerprint, _pack(target)), protocol=pickle.HIGHEST_PROTOCOL)
        sealed = nonce + self._cipher.encrypt(nonce, record, client_id.encode())
        os.pwrite(self._file.fileno(), sealed, self._end)
        self._index[client_id] = (self._end, len(sealed))
        self._end += len(sealed)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, client_id: object) -> bool:
        return client_id in self._index

    @property
    def size(self) -> int:
        """Bytes on disk."""
        return self._end

    def read(self, client_id: str) -> tuple[str, ClientLive]:
        """(live fingerprint, target) as spooled for `client_id`."""
        offset, length = self._index[client_id]
        sealed = os.pread(self._file.fileno(), length, offset)
        nonce, body = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        fingerprint, packed = pickle.loads(self._cipher.decrypt(nonce, body, client_id.encode()))
        return fingerprint, _unpack(packed)

    def __iter__(self) -> Iterator[Job]:
        """A job per spooled client, in client id order. The records are read, decrypted and
        unpacked a transaction's batch ahead by a helper thread, while the caller writes the
        batch before (its waits on the database release the GIL): at most two batches of
        targets are in memory."""
        ids, size = sorted(self._index), transaction.BATCH_SIZE  # a run's transactions
        chunks = [ids[start : start + size] for start in range(0, len(ids), size)]
        if not chunks:
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="spool") as pool:
            ahead = pool.submit(self._jobs, chunks[0])
            for following in [*chunks[1:], None]:
                jobs = ahead.result()
                if following is not None:
                    ahead = pool.submit(self._jobs, following)
                yield from jobs

    def _jobs(self, client_ids: list[str]) -> list[Job]:
        jobs = []
        for client_id in client_ids:
            fingerprint, target = self.read(client_id)
            jobs.append(
                Job(client_id=client_id, expected_fingerprint=fingerprint, target=_Constant(target))
            )
        return jobs

    def close(self) -> None:
        self._file.close()
        self._index.clear()

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A target as plain dicts, field by field: pickle handles those in C, while a frozen slotted
# dataclass goes through dataclasses' __getstate__/__setstate__ per object (a third of pass
# 1's spooling time). Field names come from the dataclasses themselves; each object's fields
# are one dict, so reading it back is one `**` call (a registry row's three fields, as
# keywords built from a zip, cost twice the dataclass's own __init__ in pass 2).
_LIVE = tuple(f.name for f in fields(ClientLive))
_LEGACY = tuple(f.name for f in fields(LegacyRow))
_MODULE = tuple(f.name for f in fields(RegistryModule))
Packed = tuple[Any, ...]


def _pack(live: ClientLive) -> Packed:
    values = {name: getattr(live, name) for name in _LIVE}
    legacy, registry = values.pop("legacy"), values.pop("registry")
    return (
        values,
        None if legacy is None else {n: getattr(legacy, n) for n in _LEGACY},
        {m: {n: getattr(row, n) for n in _MODULE} for m, row in registry.items()},
    )


def _unpack(packed: Packed) -> ClientLive:
    values, legacy, registry = packed
    return ClientLive(
        **values,
        legacy=None if legacy is None else LegacyRow(**legacy),
        registry={m: RegistryModule(**row) for m, row in registry.items()},
    )


class _Constant:
    """A target function that ignores live state (the plan already decided), like
    runs._constant; a class so a job holds only its own target."""

    __slots__ = ("state",)

    def __init__(self, state: ClientLive) -> None:
        self.state = state

    def __call__(self, live: ClientLive) -> ClientLive:
        return self.state
