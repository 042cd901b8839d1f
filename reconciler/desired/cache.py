"""A content-addressed cache of the desired side (issue 15): a warm run does not parse what has
not changed.

Each client file's outcome (the resolved client or None, its problems and warnings, and the
client_id and name it claims) is stored under the file's git blob id (from the tree listing
for `--ref`, computed from the bytes in a working tree) and its path, together with a key of
everything the outcome depends on: this code and its schemas, reconciler.yaml, every module
definition, and the bytes of each profile the file uses. A row whose key differs is recomputed,
so the cache never answers for other inputs. In a working tree, what `lstat` said of a file
(size, mtime, ctime, inode) stands for its blob id until any of them changes; a file changed
within two seconds of being stamped is not stamped (the clock may not have moved). Rows are
also keyed by the code that computed them, so what a file claims is a function of its row.
The fleet as a whole (its listing, its verdict, the client-id index) is in cache_fleet.py.

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
from collections.abc import Callable, Collection, Mapping, Sequence

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
from reconciler.desired.source import FileStat, Source, UnreadableFile

__all__ = [  # the cache's face; its parts live in cache_setup, cache_codec and cache_db
    "DIR_NAME",
    "_CONFIG",
    "_PACKAGE",
    "CacheConfig",
    "DesiredCache",
    "Outcome",
    "blob_id",
    "cache_directory",
    "cache_stats",
    "clear_cache",
    "code_key",
    "configure",
    "current_config",
    "env_config",
    "stream_cache",
]

log = logging.getLogger(__name__)

RACY_SECONDS = 2.0
FEW_FILES = 64  # fewer files than this are stat'ed one by one, not by a scan of clients/


class DesiredCache:
    """The cache as one desired stream uses it: outcomes of its client files by blob id."""

    def __init__(
        self,
        file: CacheFile,
        source: Source,
        shared: str,
        profiles: Mapping[str, str],
        code: str,
    ) -> None:
        self.file = file
        self.source = source
        self.shared = shared  # code, settings and catalog
        self.profiles = dict(profiles)  # profile name -> digest of its file(s)
        self.code = code  # the code that computes outcomes (rows are keyed by it)
        stat_of = getattr(source, "stat", None)
        self._stat: Callable[[str], os.stat_result] | None = stat_of
        self._blob_of: Callable[[str], str] | None = getattr(source, "blob_id", None)
        self.tree = os.path.realpath(source.root) if stat_of is not None else ""
        self._stamps: dict[str, Stamp] = {}
        self._all_stamps = False  # whether _stamps holds the tree's every stamp
        self._lstat: dict[str, FileStat] | None = None
        self._ready: dict[str, tuple[str, bytes | None, Entry | None]] = {}
        self.blobs: dict[str, str | None] = {}  # every client file read: path -> blob id
        self.keys: dict[str, str] = {}  # path -> "blob:deps" of outcomes the cache holds
        # path -> the stat (size, mtime_ns, ctime_ns, inode) its blob id was found under, of
        # files a stamp stands for; and whether every blob id found so far is one a stamp
        # stands for (no file read unstamped, no write skipped): only then may a listing of
        # clients/ be recorded (cache_fleet.py).
        self.stats: dict[str, tuple[int, int, int, int]] = {}
        self.stamped = True
        self._deps_of: dict[str, str] = {}  # an entry's profiles (JSON) -> their deps key

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

    def scanned(self) -> dict[str, FileStat] | None:
        """One `lstat` pass over clients/ (WorkingTree.scan), taken when first needed; None
        for a source that has no files on disk."""
        if self._lstat is None:
            scan = getattr(self.source, "scan", None)
            if scan is None:
                return None
            self._lstat = scan("clients")
        return self._lstat

    def stamps_of(self, relpaths: Sequence[str]) -> dict[str, Stamp]:
        """The stamps of these files (the tree's every stamp once a batch is large), loaded
        into the table `blob` reads."""
        if not self._all_stamps and not self.broken and self._stat is not None:
            if len(relpaths) >= FEW_FILES:
                self._stamps = self.file.stamps(self.tree)
                self._all_stamps = True
            else:
                missing = [p for p in relpaths if p not in self._stamps]
                self._stamps.update(self.file.stamps(self.tree, missing) if missing else {})
        return self._stamps

    def stat_of(self, relpath: str, info: FileStat | None) -> tuple[int, int, int, int]:
        """(size, mtime_ns, ctime_ns, inode) of the file as its stamp holds them: its `lstat`
        (from the scan) when it is a regular file, else the full check's (a symlink: its
        target inside the tree). UnreadableFile when the source would not read it."""
        if info is not None and stat.S_ISREG(info[0]):
            return info[1:]
        assert self._stat is not None
        full = self._stat(relpath)
        return (full.st_size, full.st_mtime_ns, full.st_ctime_ns, full.st_ino)

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
            scanned = self._lstat
            now = self.stat_of(relpath, None if scanned is None else scanned.get(relpath))
            if now[0] > limit:
                return None, None
            stamp = self._stamps.get(relpath)
            if stamp is not None and stamp[:4] == now:
                self.stats[relpath] = now
                return stamp[4], None
            started = time.time_ns()
            raw = self.source.read_bytes(relpath)
        except UnreadableFile:
            return None, None
        blob = blob_id(raw)
        if len(raw) == now[0] and started - max(now[1], now[2]) > RACY_SECONDS * 1e9:
            self.file.put_stamp(self.tree, relpath, (*now, blob))
            self.stats[relpath] = now
        else:
            self.stamped = False
        return blob, raw

    def _stat_pass(self, relpaths: Sequence[str]) -> None:
        """Ready to give these files' blob ids: a scan of clients/ for a large batch (else
        each file is stat'ed by its path), and their stamps."""
        if self.broken or self._stat is None:
            return
        if len(relpaths) >= FEW_FILES:
            self.scanned()
        self.stamps_of(relpaths)

    def prepare(self, relpaths: list[str], limit: int) -> None:
        """Blob ids and cached entries of a batch of files, in one look-up."""
        if self.broken:
            return
        try:
            self._stat_pass(relpaths)
        except CacheUnusable as exc:
            self._break(exc)
            return
        keys: dict[str, tuple[str, bytes | None]] = {}
        for relpath in relpaths:
            blob, raw = self.blob(relpath, limit)
            self.blobs[relpath] = blob
            if blob is not None:
                keys[relpath] = (blob, raw)
        try:
            found = self.file.lookup_many([(p, b) for p, (b, _) in keys.items()], self.code)
        except CacheUnusable as exc:
            self._break(exc)
            return
        self._ready = {p: (b, raw, found.get((p, b))) for p, (b, raw) in keys.items()}

    def resolve(self, relpath: str, compute: Callable[[str, bytes | None], Outcome]) -> Outcome:
        ready = self._ready.pop(relpath, None)
        if ready is None:
            return compute(relpath, None)
        blob, raw, entry = ready
        if entry is not None:
            outcome = self._valid(entry)
            if outcome is not None:
                self.keys[relpath] = f"{blob}:{entry.deps}"
                return outcome
        outcome = compute(relpath, raw)
        client_id = outcome.client_id
        payload = encode(outcome)
        if payload is None:
            return outcome
        ok = outcome.client is not None and not any(not p.warning for p in outcome.problems)
        profiles = json.dumps(list(outcome.profiles))
        deps = self.deps(outcome.profiles)
        self.file.put(relpath, blob, self.code, deps, profiles, client_id, ok, payload)
        self.keys[relpath] = f"{blob}:{deps}"
        return outcome

    def _valid(self, entry: Entry) -> Outcome | None:
        try:
            deps = self._deps_of.get(entry.profiles)
            if deps is None:  # a fleet uses a few lists of profiles: each is hashed once
                deps = self._deps_of[entry.profiles] = self.deps(orjson.loads(entry.profiles))
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
            if not self.file.flush():
                self.stamped = False  # a write skipped (busy): not every row is there
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
        return DesiredCache(self.file, source, self.shared, self.profiles, self.code)

    def current_blobs(self, files: list[str], limit: int) -> dict[str, str] | None:
        """Every file's blob id (stamps first, bytes only of files that changed), or None
        when one of them is not a file the cache answers for."""
        self._stat_pass(files)
        blobs: dict[str, str] = {}
        for relpath in files:
            blob, _ = self.blob(relpath, limit)
            self.blobs[relpath] = blob
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
    return DesiredCache(file, source, shared.hexdigest(), profiles, code_key()[:16])
