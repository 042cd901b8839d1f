"""A content-addressed cache of the desired side (issue 15): a warm run does not parse what has
not changed.

Each client file's outcome (the resolved client or None, its problems and warnings, and the
client_id and name it claims) is stored under the file's git blob id (from the tree listing
for `--ref`, computed from the bytes in a working tree) and its path, together with a key of
everything the outcome depends on: this code and its schemas, reconciler.yaml, every module
definition, and the bytes of each profile the file uses. A row whose key differs is recomputed,
so the cache never answers for other inputs. In a working tree, what `lstat` said of a file
(size, mtime, ctime, inode) stands for its blob id until any of them changes; a file changed
within two seconds of being stamped is not stamped (the clock may not have moved).

`--no-cache` (or RECONCILER_NO_CACHE=1) bypasses it; RECONCILER_CACHE_DIR moves it; by default
it is `.reconciler-cache/` beside the desired-state directory, else under $XDG_CACHE_HOME.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import orjson

from reconciler.desired.cache_codec import (
    _PACKAGE,
    Outcome,
    blob_id,
    code_key,
    decode,
    encode,
)
from reconciler.desired.cache_db import CacheFile, CacheUnusable, Entry, Stamp, remove
from reconciler.desired.cache_setup import (
    _CONFIG,
    DIR_NAME,
    CacheConfig,
    cache_directory,
    cache_stats,
    clear_cache,
    configure,
    current_config,
    env_config,
    open_file,
)
from reconciler.desired.catalog import stem
from reconciler.desired.source import Source, UnreadableFile
from reconciler.errors import Problem

__all__ = [  # the cache's face; its parts live in cache_setup, cache_codec and cache_db
    "DIR_NAME",
    "_CONFIG",
    "_PACKAGE",
    "CacheConfig",
    "Claimed",
    "DesiredCache",
    "Outcome",
    "blob_id",
    "cache_directory",
    "cache_stats",
    "claimed_files",
    "clear_cache",
    "code_key",
    "configure",
    "current_config",
    "env_config",
    "save_verdict",
    "stream_cache",
]

log = logging.getLogger(__name__)

RACY_SECONDS = 2.0


class DesiredCache:
    """The cache as one desired stream uses it: outcomes of its client files by blob id."""

    def __init__(
        self, file: CacheFile, source: Source, shared: str, profiles: Mapping[str, str]
    ) -> None:
        self.file = file
        self.source = source
        self.shared = shared  # code, settings and catalog
        self.profiles = dict(profiles)  # profile name -> digest of its file(s)
        stat_of = getattr(source, "stat", None)
        self._stat: Callable[[str], os.stat_result] | None = stat_of
        self._blob_of: Callable[[str], str] | None = getattr(source, "blob_id", None)
        self._tree = os.path.realpath(source.root) if stat_of is not None else ""
        self._stamps: dict[str, Stamp] | None = None
        self._lstat: dict[str, os.stat_result] | None = None
        self._ready: dict[str, tuple[str, bytes | None, Entry | None]] = {}
        self.blobs: dict[str, str | None] = {}  # every client file read: path -> blob id
        self.keys: dict[str, str] = {}  # path -> "blob:deps" of outcomes the cache holds
        self._deps: dict[str, str] = {}  # a JSON list of profile names -> their deps key
        self.resolved = self.answered = 0  # files resolved, and of them answered from here

    @property
    def broken(self) -> bool:
        """Whether the file failed: then no stream over it (see `for_source`) uses it again."""
        return self.file.closed

    def deps(self, profiles: Collection[str]) -> str:
        used = "\0".join(f"{n}={self.profiles.get(n, '-')}" for n in profiles)
        return hashlib.sha1(f"{self.shared}\0{used}".encode()).hexdigest()

    def fleet_key(self) -> str:
        """Everything a whole-fleet verdict depends on, apart from the client files."""
        profiles = "\0".join(f"{n}={d}" for n, d in sorted(self.profiles.items()))
        return hashlib.sha1(f"{self.shared}\0{profiles}".encode()).hexdigest()

    def _scanned(self) -> dict[str, os.stat_result]:
        """One `lstat` pass over clients/ (WorkingTree.scan), taken when first needed."""
        if self._lstat is None:
            scan = getattr(self.source, "scan", None)
            self._lstat = scan("clients") if scan is not None else {}
        return self._lstat

    def _stamp_table(self) -> dict[str, Stamp]:
        if self._stamps is None:
            self._stamps = self.file.stamps(self._tree) if not self.broken else {}
        return self._stamps

    def blob(self, relpath: str, limit: int) -> tuple[str | None, bytes | None]:
        """The file's blob id, and its bytes when they had to be read; (None, None) when the
        file is not one the cache answers for (unreadable, oversized: the loader says why)."""
        if self._blob_of is not None:
            try:
                return self._blob_of(relpath), None
            except Exception:
                return None, None
        if self._stat is None:
            return None, None
        try:
            info = self._scanned().get(relpath)
            if info is None or not stat.S_ISREG(info.st_mode):
                info = self._stat(relpath)  # a symlink or a file the scan missed: full check
            if info.st_size > limit:
                return None, None
            now = (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)
            stamp = self._stamp_table().get(relpath)
            if stamp is not None and stamp[:4] == now:
                return stamp[4], None
            started = time.time_ns()
            raw = self.source.read_bytes(relpath)
        except UnreadableFile:
            return None, None
        blob = blob_id(raw)
        if len(raw) == info.st_size and started - max(now[1], now[2]) > RACY_SECONDS * 1e9:
            self.file.put_stamp(self._tree, relpath, (*now, blob))
        return blob, raw

    def prepare(self, relpaths: list[str], limit: int) -> None:
        """Blob ids and cached entries of a batch of files, in one look-up."""
        if self.broken:
            return
        keys: dict[str, tuple[str, bytes | None]] = {}
        for relpath in relpaths:
            blob, raw = self.blob(relpath, limit)
            self.blobs[relpath] = blob
            if blob is not None:
                keys[relpath] = (blob, raw)
        try:
            found = self.file.lookup_many([(p, b) for p, (b, _) in keys.items()])
        except CacheUnusable as exc:
            self._break(exc)
            return
        self._ready = {p: (b, raw, found.get((p, b))) for p, (b, raw) in keys.items()}

    def resolve(self, relpath: str, compute: Callable[[str, bytes | None], Outcome]) -> Outcome:
        self.resolved += 1
        ready = self._ready.pop(relpath, None)
        if ready is None:
            return compute(relpath, None)
        blob, raw, entry = ready
        if entry is not None:
            outcome = self._valid(entry)
            if outcome is not None:
                self.keys[relpath] = f"{blob}:{entry.deps}"
                self.answered += 1
                return outcome
        outcome = compute(relpath, raw)
        client_id = outcome.client_id
        payload = encode(outcome)
        if payload is None:
            return outcome
        ok = outcome.client is not None and not any(not p.warning for p in outcome.problems)
        profiles = json.dumps(list(outcome.profiles))
        deps = self.deps(outcome.profiles)
        self.file.put(relpath, blob, deps, profiles, client_id, ok, payload)
        self.keys[relpath] = f"{blob}:{deps}"
        return outcome

    def warm(self) -> bool:
        """Whether nine in ten of the files resolved so far came from the cache."""
        return self.answered >= 0.9 * self.resolved > 0

    def _valid(self, entry: Entry) -> Outcome | None:
        try:
            deps = self._deps.get(entry.profiles)
            if deps is None:  # the same few lists of profiles recur across a fleet
                deps = self._deps[entry.profiles] = self.deps(orjson.loads(entry.profiles))
            if entry.deps != deps:
                return None
            return decode(entry.payload)
        except (ValueError, TypeError, KeyError) as exc:  # a row that decodes wrong: never trusted
            self._break(CacheUnusable(f"an entry that does not decode ({exc})"))
            return None

    def flush(self) -> None:
        if self.broken:
            return
        try:
            self.file.flush()
        except CacheUnusable as exc:
            self._break(exc)

    def _break(self, exc: CacheUnusable) -> None:
        """Stop using a cache file that failed mid-run; it is removed to be rebuilt next run."""
        if self.broken:
            return
        log.warning("desired cache %s ignored and rebuilt: %s", self.file.path, exc)
        self.file.close()
        remove(self.file.directory)

    def for_source(self, source: Source) -> DesiredCache:
        """The same cache and keys for another tree with the same shared files."""
        return DesiredCache(self.file, source, self.shared, self.profiles)

    def current_blobs(self, files: list[str], limit: int) -> dict[str, str] | None:
        """Every file's blob id (stamps first, bytes only of files that changed), or None
        when one of them is not a file the cache answers for."""
        blobs: dict[str, str] = {}
        for relpath in files:
            blob, _ = self.blob(relpath, limit)
            if blob is None:
                return None
            blobs[relpath] = blob
        self.flush()
        return blobs


def stream_cache(source: Source, digests: Mapping[str, str]) -> DesiredCache | None:
    """The cache for a stream whose shared files (settings, modules, profiles) read as
    `digests`; None when caching is off or no cache file can be used."""
    config = current_config()
    if not config.enabled:
        return None
    file = open_file(cache_directory(getattr(source, "directory", source.root), config))
    if file is None:
        return None
    shared = hashlib.sha1(code_key().encode())
    profiles: dict[str, str] = {}
    for relpath, digest in sorted(digests.items()):
        if relpath.startswith("profiles/"):
            profiles[stem(relpath)] = profiles.get(stem(relpath), "") + digest
        elif not relpath.startswith("policies/"):  # policies judge plans, not clients
            shared.update(f"{relpath}\0{digest}\0".encode())
    return DesiredCache(file, source, shared.hexdigest(), profiles)


def _verdict_digest(cache: DesiredCache, blobs: Mapping[str, str]) -> str:
    digest = hashlib.sha1(cache.fleet_key().encode())
    for relpath in sorted(blobs):
        digest.update(f"{relpath}\0{blobs[relpath]}\0".encode())
    return digest.hexdigest()


def save_verdict(cache: DesiredCache, seen: int, warnings: list[Problem]) -> None:
    """After a walk of every client file found no problem: this fleet (exactly these files'
    blobs under these keys) is valid, with these warnings."""
    blobs = {p: b for p, b in cache.blobs.items() if b is not None}
    if cache.broken or len(blobs) != seen:
        return
    payload = encode(Outcome(None, warnings, None, None, ()))
    if payload is None:
        return
    try:
        cache.file.put_verdict(_verdict_digest(cache, blobs), payload)
    except CacheUnusable as exc:
        cache._break(exc)


@dataclass(frozen=True, slots=True)
class Claimed:
    files: list[str]  # the client files to read
    warnings: list[Problem]  # the fleet's warnings (with a verdict)


def claimed_files(
    cache: DesiredCache | None,
    files: list[str],
    limit: int,
    client_ids: Collection[str],
    *,
    verdict: bool = False,
) -> Claimed | None:
    """The client-id index: the files among `files` that claim one of `client_ids` (or, in
    error, no id), and the files the cache has not seen (their claim is unknown until read).
    With `verdict`, only when the fleet is exactly one a full walk found valid (so nothing
    else needs checking), and then the files claiming the ids alone. None: no answer; walk
    the fleet."""
    if cache is None or cache.broken:
        return None
    try:
        blobs = cache.current_blobs(files, limit)
        if blobs is None:
            return None
        warnings: list[Problem] = []
        if verdict:
            found = cache.file.verdict(_verdict_digest(cache, blobs))
            if found is None:
                return None
            warnings = decode(found).problems
        chosen, unknown = cache.file.claimants(client_ids, blobs)
    except CacheUnusable as exc:
        cache._break(exc)
        return None
    if verdict and unknown:
        return None
    return Claimed(sorted(chosen | unknown), warnings)
