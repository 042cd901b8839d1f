"""Per-client TTL cache for the unified view, keyed by (store, client) (SPEC §8).

The original cached one value for all clients; here every entry belongs to one client of one
store, and writes through this process invalidate exactly that client. A generation counter
stops a read that raced with a write from caching the pre-write value.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

DEFAULT_TTL = 300.0
Key = tuple[str, str]  # (store identity, client_id)


class ClientCache:
    """Values per (store, client) and per variant, each expiring `ttl` seconds after loading."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Key, dict[Hashable, tuple[float, Any]]] = {}
        self._generations: dict[Key, int] = {}

    def get(self, key: Key, variant: Hashable, ttl: float) -> tuple[bool, Any]:
        """(True, value) when a fresh value is cached, else (False, None)."""
        with self._lock:
            hit = self._entries.get(key, {}).get(variant)
        if hit is None or self.clock() - hit[0] >= ttl:
            return False, None
        return True, hit[1]

    def generation(self, key: Key) -> int:
        """Token to take before reading the store; pass it to `put`."""
        with self._lock:
            return self._generations.get(key, 0)

    def put(self, key: Key, variant: Hashable, value: Any, generation: int) -> None:
        """Cache `value` unless the client was invalidated since `generation` was taken."""
        loaded_at = self.clock()
        with self._lock:
            if self._generations.get(key, 0) == generation:
                self._entries.setdefault(key, {})[variant] = (loaded_at, value)

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
