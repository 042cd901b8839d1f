"""Clients a plan found unchanged, or drift classified, remembered with everything that made
them so (issue 15).

A client's key joins its desired file's cache key (blob id and dependency key: settings,
catalog, profiles, code) with its live fingerprint (an md5 of its rows, computed by
PostgreSQL). When the next plan finds the same key, the client is unchanged again without its
rows being read, decoded and diffed: the plan is a function of exactly those inputs. A client
whose settings hold resolved secret references is remembered only when every value came from a
file, under the stamps of those files (path, device, inode, size, mtime, ctime: see
SecretResolver.sources), never under its values or a hash of them; a value from an environment
variable or a file changed within two seconds of being read keeps the client out of the memo.
Drift remembers each client's classes and pending count beside the key (what `classify` gave,
unless drifted: drift details are computed afresh). SQLite computes no fingerprints: no memo
there. Kept in the desired-state cache file; `--no-cache` turns it off with the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from reconciler.desired.cache import DesiredCache, code_key
from reconciler.desired.cache_db import CacheUnusable
from reconciler.model import ClientDesired

# What a plan of one client is computed by, beyond the desired side's own code.
_PLAN_CODE = (
    "desired/*.py",
    "model.py",
    "errors.py",
    "schemas/*.json",
    "plan/*.py",
    "live/*.py",
    "api/_batches.py",
    "api/_memo.py",
    "apply/history.py",
    "apply/sealing.py",
)


class InSync:
    def __init__(self, cache: DesiredCache, task: str) -> None:
        self.cache = cache
        self.scope = hashlib.sha1(f"{code_key(_PLAN_CODE)}:{task}".encode()).hexdigest()

    @classmethod
    def of(cls, cache: DesiredCache | None, task: str) -> InSync | None:
        """The memo of one task (`plan adopt_only=False`, `drift`), None without a cache."""
        return None if cache is None or cache.broken else cls(cache, task)

    def keys(
        self,
        chosen: Sequence[ClientDesired],
        originals: Mapping[str, ClientDesired],
        fingerprints: Mapping[str, str],
        secrets: Mapping[str, str | None],
    ) -> dict[str, str]:
        """Client id -> key, for the clients that can be remembered; `fingerprints`: each
        client's live state (and for drift its last run); `secrets`: the stamps of the secret
        files resolved into a client (SecretResolver.sources)."""
        keys: dict[str, str] = {}
        for client in chosen:
            entry = self.cache.keys.get(client.file)
            live = fingerprints.get(client.client_id)
            if entry is None or live is None:
                continue  # not cached, or no fingerprint
            state = f"{entry}|{live}"
            if originals.get(client.client_id) is not client:  # secrets resolved into it
                stamps = secrets.get(client.client_id)
                if stamps is None:
                    continue
                state = f"{state}|secret files {stamps}"
            keys[client.client_id] = hashlib.sha1(state.encode()).hexdigest()
        return keys

    def found(self, keys: Mapping[str, str]) -> dict[str, str]:
        """The clients remembered before under the same key, and what was remembered."""
        try:
            stored = self.cache.file.insync_keys(self.scope, sorted(keys))
        except CacheUnusable as exc:
            self.cache._break(exc)
            return {}
        return {
            cid: row[1] for cid, key in keys.items() if (row := stored.get(cid)) and row[0] == key
        }

    def known(self, keys: Mapping[str, str]) -> set[str]:
        """The clients planned unchanged before under the same key."""
        return set(self.found(keys))

    def record(self, keys: Mapping[str, str], unchanged: Sequence[str]) -> None:
        self.remember(keys, dict.fromkeys(unchanged, ""))

    def remember(self, keys: Mapping[str, str], values: Mapping[str, str]) -> None:
        """Remember each client's value under its key (clients without a key are not)."""
        rows = [(cid, keys[cid], value) for cid, value in values.items() if cid in keys]
        try:
            self.cache.file.put_insync(self.scope, rows)
        except CacheUnusable as exc:
            self.cache._break(exc)
