"""Clients a plan found unchanged or with informational changes only, or drift classified,
remembered with everything that made them so (issue 15).

A client's key joins its desired file's cache key (blob id and dependency key: settings,
catalog, profiles, code) with its live fingerprint (an md5 of its rows, computed by
PostgreSQL) and, for a client whose secret references were resolved from files, those files'
stamps (SecretResolver.sources; never their values nor a hash of them). When the next plan
finds the same key, the client is unchanged again (or shows the same informational changes:
`preserve`'s "shown, never written") without its rows being read, decoded and diffed: the plan
is a function of exactly those inputs. Never remembered: a plan that writes (apply needs the
live and target states it holds), one with a sensitive change (the live value would be
stored), and a client whose references read an environment variable or a file changed within
2 s. Drift remembers each client's classes and pending count beside the key (what `classify`
gave, unless drifted: drift details are computed afresh). SQLite computes no fingerprints: no
memo there. Kept in the desired-state cache file; `--no-cache` turns it off with the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import orjson

from reconciler.desired.cache import DesiredCache, code_key
from reconciler.desired.cache_codec import exact_json
from reconciler.desired.cache_db import CacheUnusable, checksum
from reconciler.live.engine import make_engine, store_key
from reconciler.model import ClientDesired
from reconciler.plan.model import ABSENT, ChangeKind, ClientPlan, change

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
    def __init__(self, cache: DesiredCache, task: str, store: str) -> None:
        self.cache = cache
        scope = f"{code_key(_PLAN_CODE)}:{task}:{store}"
        self.scope = hashlib.sha1(scope.encode()).hexdigest()

    @classmethod
    def of(cls, cache: DesiredCache | None, task: str, store_url: str) -> InSync | None:
        """The memo of one task (`plan adopt_only=False`, `drift`) against one store (each
        store's clients are remembered apart: planning against two stores in turn keeps
        both), None without a cache."""
        if cache is None or cache.broken:
            return None
        return cls(cache, task, store_key(make_engine(store_url)))

    def keys(
        self,
        chosen: Sequence[ClientDesired],
        originals: Mapping[str, ClientDesired],
        fingerprints: Mapping[str, str],
        sources: Mapping[str, str | None],
    ) -> dict[str, str]:
        """Client id -> key, for the clients that can be remembered; `fingerprints`: each
        client's live state (and for drift its last run); `sources`: for a client whose
        secret references were resolved, the stamps of the files they were read from (None
        or missing: it cannot be remembered)."""
        keys: dict[str, str] = {}
        for client in chosen:
            entry = self.cache.keys.get(client.file)
            live = fingerprints.get(client.client_id)
            if entry is None or live is None:
                continue  # not cached, or no fingerprint
            if originals.get(client.client_id) is not client:
                secrets = sources.get(client.client_id)
                if secrets is None:
                    continue  # resolved from the environment or a file just changed
                live = f"{live}|{secrets}"
            keys[client.client_id] = hashlib.sha1(f"{entry}|{live}".encode()).hexdigest()
        return keys

    def found(self, keys: Mapping[str, str]) -> dict[str, str]:
        """The clients remembered before under the same key, and what was remembered (the
        plan memo: "" for unchanged, else a plan's body; the drift memo: a classification)."""
        if self.cache.broken:
            return {}
        try:
            stored = self.cache.file.insync_keys(self.scope, sorted(keys))
        except CacheUnusable as exc:
            self.cache._break(exc)
            return {}
        return {
            cid: row[1] for cid, key in keys.items() if (row := stored.get(cid)) and row[0] == key
        }

    def record(
        self, keys: Mapping[str, str], unchanged: Sequence[str], plans: Sequence[ClientPlan] = ()
    ) -> None:
        """Remember the clients planned unchanged, and the plans of `plans` that only show
        informational changes."""
        values = dict.fromkeys(unchanged, "")
        for plan in plans:
            body = encode_plan(plan) if plan.client_id in keys else None
            if body is not None:
                values[plan.client_id] = body
        self.remember(keys, values)

    def remember(self, keys: Mapping[str, str], values: Mapping[str, str]) -> None:
        """Remember each client's value under its key (clients without a key are not)."""
        if self.cache.broken:
            return
        rows = [(cid, keys[cid], value) for cid, value in values.items() if cid in keys]
        try:
            self.cache.file.put_insync(self.scope, rows)
        except CacheUnusable as exc:
            self.cache._break(exc)

    def plans(
        self, known: Mapping[str, str], clients: Sequence[ClientDesired]
    ) -> list[ClientPlan] | None:
        """The remembered informational plans of `clients` (those `known` holds a body for);
        None when one does not decode (the cache is then broken: plan them all again)."""
        found: list[ClientPlan] = []
        for client in clients:
            body = known.get(client.client_id)
            if not body:
                continue
            plan = decode_plan(body, client)
            if plan is None:
                self.cache._break(CacheUnusable("a remembered plan that does not decode"))
                return None
            found.append(plan)
        return found


def encode_plan(plan: ClientPlan) -> str | None:
    """What is remembered of a plan that only shows informational changes: its live
    fingerprint and changes, checksummed; None for a plan that writes or shows a sensitive
    value, or whose values JSON cannot carry back exactly."""
    if plan.writes or not plan.changes or any(c.sensitive for c in plan.changes):
        return None
    changes = [
        [
            c.module,
            str(c.kind),
            c.path,
            [] if c.old is ABSENT else [c.old],
            [] if c.new is ABSENT else [c.new],
            sorted(c.stores),
        ]
        for c in plan.changes
    ]
    payload = exact_json([plan.live_fingerprint, changes])
    return None if payload is None else checksum(payload) + payload.decode()


def decode_plan(body: str, client: ClientDesired) -> ClientPlan | None:
    """The plan `encode_plan` remembered, for `client` as the tree names it now; None when
    the body does not match its checksum."""
    if not isinstance(body, str):
        return None
    payload = body[32:].encode()
    if checksum(payload) != body[:32]:
        return None
    fingerprint, changes = orjson.loads(payload)
    return ClientPlan(
        client_id=client.client_id,
        name=client.name,
        file=client.file,
        strategy=client.strategy,
        live_fingerprint=fingerprint,
        changes=tuple(
            change(
                client.client_id,
                module,
                ChangeKind(kind),
                tuple(path),
                old[0] if old else ABSENT,
                new[0] if new else ABSENT,
                frozenset(stores),
                True,
                False,  # a plan with a sensitive change is never remembered
            )
            for module, kind, path, old, new, stores in changes
        ),
    )
