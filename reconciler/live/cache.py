"""Per-client TTL cache for the unified view, keyed by (store, client) (SPEC §8).

The original cached one value for all clients; here every entry belongs to one client of one
store, and writes through this process invalidate exactly that client. A generation counter
stops a read that raced with a write from caching the pre-write value.

Expired entries are evicted (issue 18): an expired entry that is read is dropped, and a `put`
sweeps every expired entry at most once per SWEEP_SECONDS, so memory holds what was loaded in
the last ttl (plus one sweep interval), not everything ever read. The generation counters stay
(one small int per client written through this process).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_TTL = 300.0
SWEEP_SECONDS = 60.0
Key = tuple[str, str]  # (store identity, client_id)
Entry = tuple[float, float, Any]  # (loaded at, ttl, value)


class ClientCache:
    """Values per (store, client) and per variant, each expiring `ttl` seconds after loading."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Key, dict[Hashable, Entry]] = {}
        self._generations: dict[Key, int] = {}
        self._next_sweep = float("-inf")

    def get(self, key: Key, variant: Hashable, ttl: float) -> tuple[bool, Any]:
        """(True, value) when a fresh value is cached, else (False, None)."""
        now = self.clock()
        with self._lock:
            variants = self._entries.get(key)
            hit = variants.get(variant) if variants else None
            if hit is None:
                return False, None
            if now - hit[0] >= min(ttl, hit[1]):
                if now - hit[0] >= hit[1]:  # expired for good: evict it
                    self._drop(key, variant)
                return False, None
        return True, hit[2]

    def generation(self, key: Key) -> int:
        """Token to take before reading the store; pass it to `put`."""
        with self._lock:
            return self._generations.get(key, 0)

    def put(
        self, key: Key, variant: Hashable, value: Any, generation: int, ttl: float = DEFAULT_TTL
    ) -> None:
        """Cache `value` for `ttl` seconds unless the client was invalidated since `generation`
        was taken; sweep out expired entries now and then."""
        loaded_at = self.clock()
        with self._lock:
            if loaded_at >= self._next_sweep:
                self._sweep(loaded_at)
                self._next_sweep = loaded_at + min(SWEEP_SECONDS, ttl)
            if ttl > 0 and self._generations.get(key, 0) == generation:
                self._entries.setdefault(key, {})[variant] = (loaded_at, ttl, value)

    def _sweep(self, now: float) -> None:
        """Drop every expired entry (the lock is held)."""
        for key in list(self._entries):
            variants = self._entries[key]
            for variant in [v for v, e in variants.items() if now - e[0] >= e[1]]:
                self._drop(key, variant)

    def _drop(self, key: Key, variant: Hashable) -> None:
        variants = self._entries.get(key)
        if variants is not None:
            variants.pop(variant, None)
            if not variants:
                del self._entries[key]

    def invalidate(self, key: Key) -> None:
        """Forget everything cached for one client of one store."""
        with self._lock:
            self._entries.pop(key, None)
            self._generations[key] = self._generations.get(key, 0) + 1

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._entries.clear()
            self._generations.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


CACHE = ClientCache()


def invalidate(store_key: str, client_id: str) -> None:
    """Drop the cached unified view of `client_id` in the store `store_key`."""
    CACHE.invalidate((store_key, client_id))
