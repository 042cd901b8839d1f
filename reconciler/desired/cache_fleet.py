"""The desired-state cache's view of the fleet as a whole (issue 15): the verdict of a full walk
and the client-id index that `--client` commands use.

A *verdict* says that a full walk found exactly these client files (path and blob id) valid
under these shared inputs (code, settings, catalog, profiles), with these warnings. A
*listing* is one `lstat` pass over clients/ of a working tree, digested (every file's path,
size, mtimes, ctime and inode, in directory order): it is recorded, mapped to the blob ids
it stood for, only when every file's blob id was stamped (none changed within RACY_SECONDS of
being read) and every file has a cached row, so what each file claims is known. When the
listing of a run equals a recorded one, no file needs a stamp looked up or a byte read: the
files claiming an id are found by the index (entries.client_id) and checked against their
stamps alone. Else every file's blob id is found as before (stamps, bytes of changed files),
and the listing recorded again when it can be.
"""

from __future__ import annotations

import hashlib
import logging
from array import array
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from itertools import chain

from reconciler.desired.cache import DesiredCache
from reconciler.desired.cache_codec import Outcome, decode, encode
from reconciler.desired.cache_db import CacheUnusable
from reconciler.desired.source import FileStat, UnreadableFile
from reconciler.errors import Problem

log = logging.getLogger("reconciler.desired.cache")
_KIND, _FILE = 0o170000, 0o100000  # the file type bits of st_mode, and a regular file's


@dataclass(frozen=True, slots=True)
class Claimed:
    files: list[str]  # the client files to read
    warnings: list[Problem]  # the fleet's warnings (with a verdict)
    total: int  # client files in the fleet
    unknown: frozenset[str] = field(default=frozenset())  # of `files`, those the cache has not seen
    how: str = "cache index"  # for the log: whether a recorded listing answered


def blobs_digest(blobs: Mapping[str, str]) -> str:
    digest = hashlib.sha1()
    for relpath in sorted(blobs):
        digest.update(f"{relpath}\0{blobs[relpath]}\0".encode())
    return digest.hexdigest()


def _verdict_key(cache: DesiredCache, blobs: str) -> str:
    return hashlib.sha1(f"{cache.fleet_key()}\0{blobs}".encode()).hexdigest()


def listing_key(cache: DesiredCache, scan: Mapping[str, FileStat], limit: int) -> str | None:
    """The digest of one scan of clients/ (see the module's doc), with the tree, the code
    and the size limit; None when a file is not one the cache answers for. Each entry's
    lstat (mode, size, mtime, ctime, inode); then, of those that are not regular files
    (symlinks), the stat of what they lead to."""
    try:
        targets = [(p, cache.stat_of(p, None)) for p, s in scan.items() if s[0] & _KIND != _FILE]
    except UnreadableFile:
        return None
    if any(s[1] > limit for s in scan.values()) or any(t[0] > limit for _, t in targets):
        return None
    digest = hashlib.blake2b(f"{cache.tree}\0{cache.code}\0{limit}\0".encode(), digest_size=20)
    digest.update("\0".join(scan).encode(errors="surrogateescape"))
    try:
        digest.update(array("q", chain.from_iterable(scan.values())).tobytes())
    except OverflowError:  # beyond 64 bits (an inode on some file systems): as text
        digest.update(repr(list(scan.values())).encode())
    digest.update(repr(targets).encode(errors="surrogateescape"))
    return digest.hexdigest()


def record_listing(cache: DesiredCache, known: Collection[str], limit: int) -> None:
    """Record the scan of clients/ when every file in it has a row (`known`: the paths with
    one) and a blob id found under the very stat the scan saw, which a stamp stands for;
    after a full walk, or an index look-up that found every file's claim."""
    scan = cache.scanned()
    if scan is None or cache.broken or not cache.stamped or len(known) < len(scan):
        return
    blobs: dict[str, str] = {}
    try:
        for path, info in scan.items():
            blob = cache.blobs.get(path)
            if (
                blob is None
                or path not in known
                or cache.stats.get(path) != cache.stat_of(path, info)
            ):
                return
            blobs[path] = blob
    except UnreadableFile:
        return
    cache.flush()  # the stamps and rows the listing stands on are written first
    key = listing_key(cache, scan, limit)
    if key is None or not cache.stamped or cache.broken:
        return
    try:
        cache.file.put_snapshot(key, blobs_digest(blobs))
    except CacheUnusable as exc:
        cache._break(exc)


def record_probed(cache: DesiredCache, claimed: Claimed, probed: DesiredCache, limit: int) -> None:
    """Record the listing once `probed` (a cache over the same tree) has read every file the
    index did not know (`claimed.unknown`): then every file has a row."""
    if claimed.unknown <= probed.keys.keys() and probed.stamped and not probed.broken:
        known = {p for p, b in cache.blobs.items() if b is not None} - claimed.unknown
        record_listing(cache, known | claimed.unknown, limit)


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
        cache.file.put_verdict(_verdict_key(cache, blobs_digest(blobs)), payload)
    except CacheUnusable as exc:
        cache._break(exc)


def claimed_files(
    cache: DesiredCache | None,
    client_ids: Collection[str],
    limit: int,
    listed: Callable[[], list[str]],
    *,
    verdict: bool = False,
) -> Claimed | None:
    """The client-id index: the client files (of `listed()`) that claim one of `client_ids`
    (or, in error, no id), and those the cache has not seen (their claim is unknown until
    read). With `verdict`, only when the fleet is exactly one a full walk found valid (so
    nothing else needs checking). None: no answer; walk the fleet."""
    if cache is None or cache.broken:
        return None
    try:
        found = _by_listing(cache, client_ids, limit, verdict)
        return found if found is not None else _by_blobs(cache, client_ids, limit, listed, verdict)
    except CacheUnusable as exc:
        cache._break(exc)
        return None


def _by_listing(
    cache: DesiredCache, client_ids: Collection[str], limit: int, verdict: bool
) -> Claimed | None:
    """The answer from a recorded listing equal to this run's, or None."""
    scan = cache.scanned()
    if scan is None:
        return None
    key = listing_key(cache, scan, limit)
    blobs = cache.file.snapshot(key) if key is not None else None
    if blobs is None:
        return None
    warnings: list[Problem] = []
    if verdict:
        payload = cache.file.verdict(_verdict_key(cache, blobs))
        if payload is None:
            return None
        warnings = decode(payload).problems
    rows = [(p, blob) for p, blob in cache.file.claims(cache.code, client_ids) if p in scan]
    stamps = cache.stamps_of(sorted({path for path, _ in rows}))
    chosen: set[str] = set()
    for path, blob in rows:
        stamp = stamps.get(path)
        if stamp is None or stamp[:4] != cache.stat_of(path, scan[path]):
            return None  # the stamps moved on since the listing was recorded: look again
        if stamp[4] == blob:
            chosen.add(path)
    log.debug("desired cache: listing of %d client files known", len(scan))
    return Claimed(sorted(chosen), warnings, len(scan), how="cache index, listing unchanged")


def _by_blobs(
    cache: DesiredCache,
    client_ids: Collection[str],
    limit: int,
    listed: Callable[[], list[str]],
    verdict: bool,
) -> Claimed | None:
    """The answer from every file's blob id (stamps first, bytes of files that changed)."""
    files = listed()
    blobs = cache.current_blobs(files, limit)
    if blobs is None:
        return None
    warnings: list[Problem] = []
    if verdict:
        payload = cache.file.verdict(_verdict_key(cache, blobs_digest(blobs)))
        if payload is None:
            return None
        warnings = decode(payload).problems
    claims = cache.file.claimed_by(cache.code, list(blobs.items()))
    wanted = set(client_ids)
    chosen = {path for path, claim in claims.items() if claim is None or claim in wanted}
    unknown = frozenset(path for path in blobs if path not in claims)
    if verdict and unknown:
        return None
    if not unknown:
        record_listing(cache, claims, limit)
    return Claimed(sorted(chosen | unknown), warnings, len(files), unknown)
