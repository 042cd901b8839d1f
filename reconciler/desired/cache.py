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
import sys
import time
from collections.abc import Callable, Collection, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

import reconciler
from reconciler.desired.cache_db import FILE_NAME, CacheFile, CacheUnusable, Entry, Stamp, remove
from reconciler.desired.catalog import stem
from reconciler.desired.source import Source, UnreadableFile
from reconciler.errors import Location, Problem
from reconciler.model import ClientDesired, DesiredModule

log = logging.getLogger(__name__)

DIR_NAME = ".reconciler-cache"
RACY_SECONDS = 2.0
_PACKAGE = Path(reconciler.__file__).parent
# The code an outcome depends on: a change to any of these files is a different cache key
# (plan/mask.py: the sensitive paths of module schemas, which the catalog takes from it).
_CODE = ("desired/*.py", "model.py", "errors.py", "schemas/*.json", "plan/mask.py")
_TABLES = ("entries", "stamps", "verdicts", "insync")
_LIBRARIES = ("PyYAML", "jsonschema", "semantic-version", "confusable-homoglyphs")


@dataclass(frozen=True, slots=True)
class CacheConfig:
    enabled: bool = True
    directory: str | None = None  # None: beside the desired-state directory


_CONFIG: ContextVar[CacheConfig | None] = ContextVar("reconciler_desired_cache", default=None)


def configure(*, enabled: bool = True, directory: str | None = None) -> None:
    """What this context's desired streams do (the CLI's --no-cache)."""
    _CONFIG.set(CacheConfig(enabled, directory))


def current_config() -> CacheConfig:
    chosen = _CONFIG.get()
    return env_config() if chosen is None else chosen


def env_config() -> CacheConfig:
    """RECONCILER_NO_CACHE=1 turns the cache off; RECONCILER_CACHE_DIR moves it."""
    off = os.environ.get("RECONCILER_NO_CACHE", "").strip().lower() not in ("", "0", "false")
    return CacheConfig(not off, os.environ.get("RECONCILER_CACHE_DIR") or None)


def cache_directory(source_root: str, config: CacheConfig) -> Path:
    """Where the cache of a tree lives: the configured directory, else beside the tree."""
    if config.directory:
        return Path(config.directory)
    return Path(os.path.abspath(source_root)).parent / DIR_NAME


def _fallback_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "module-reconciler"


def open_file(directory: Path, *, fallback: bool = True) -> CacheFile | None:
    """The cache file in `directory` (rebuilt with one warning if it cannot be trusted), or
    under $XDG_CACHE_HOME when `directory` cannot be written; None when neither works."""
    try:
        return CacheFile(directory)
    except CacheUnusable as exc:
        log.warning("desired cache %s ignored and rebuilt: %s", directory, exc)
        remove(directory)
        try:
            return CacheFile(directory)
        except (CacheUnusable, OSError) as again:
            log.warning("desired cache %s not used: %s", directory, again)
            return None
    except OSError as exc:
        if fallback:
            log.info("desired cache not writable in %s (%s); using the user cache", directory, exc)
            return open_file(_fallback_directory(), fallback=False)
        log.warning("desired cache %s not used: %s", directory, exc)
        return None


_code_keys: dict[tuple[str, ...], str] = {}


def code_key(patterns: tuple[str, ...] = _CODE) -> str:
    """A hash of the code (the package's files matching `patterns`), schemas and parsing
    libraries that outcomes depend on."""
    key = _code_keys.get(patterns)
    if key is None:
        digest = hashlib.sha1(f"{reconciler.__version__} {sys.version_info[:2]}".encode())
        for pattern in patterns:
            for path in sorted(_PACKAGE.glob(pattern)):
                digest.update(f"{pattern}/{path.name}".encode() + b"\0" + path.read_bytes())
        for name in _LIBRARIES:
            try:
                digest.update(f"{name}={metadata.version(name)}".encode())
            except metadata.PackageNotFoundError:
                digest.update(f"{name}=-".encode())
        key = _code_keys[patterns] = digest.hexdigest()
    return key


def blob_id(raw: bytes) -> str:
    """The git blob id of these bytes: the same key as a `--ref` tree listing gives."""
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


def file_digest(raw: bytes) -> str:
    return hashlib.sha1(raw).hexdigest()


@dataclass(slots=True)
class Outcome:
    """What reading one client file gave: the resolved client (None when it has problems),
    its problems and warnings, what it claims (client_id, name) and the profiles it uses."""

    client: ClientDesired | None
    problems: list[Problem]
    client_id: str | None
    name: str | None
    profiles: tuple[str, ...]


def _client_json(c: ClientDesired) -> list[Any]:
    modules = {k: [m.enabled, m.version, m.settings, m.strategy] for k, m in c.modules.items()}
    return [c.client_id, c.name, c.file, c.profiles, c.strategy, modules, c.overrides, c.labels]


def _client(data: list[Any]) -> ClientDesired:
    client_id, name, file, profiles, strategy, modules, overrides, labels = data
    return ClientDesired(
        client_id=client_id,
        name=name,
        file=file,
        profiles=tuple(profiles),
        strategy=strategy,
        modules={
            k: DesiredModule(enabled=e, version=v, settings=s, strategy=st)
            for k, (e, v, s, st) in modules.items()
        },
        overrides=overrides,
        labels=labels,
    )


def encode(outcome: Outcome) -> bytes | None:
    """The outcome as JSON, or None when JSON cannot carry it back exactly (a float that is
    not finite, an integer beyond 64 bits, a lone surrogate): such a file is not cached."""
    problems = [
        [p.location.file, p.location.line, p.location.column, p.path, p.reason, p.warning]
        for p in outcome.problems
    ]
    client = None if outcome.client is None else _client_json(outcome.client)
    data = [client, problems, outcome.client_id, outcome.name, outcome.profiles]
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        payload = text.encode()
        again = json.dumps(orjson.loads(payload), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    return payload if again == text else None


def decode(payload: bytes) -> Outcome:
    client, problems, client_id, name, profiles = orjson.loads(payload)
    return Outcome(
        None if client is None else _client(client),
        [
            Problem(Location(f, line, col), path, reason, w)
            for f, line, col, path, reason, w in problems
        ],
        client_id,
        name,
        tuple(profiles),
    )


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
        self.hits = self.misses = 0

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
        ready = self._ready.pop(relpath, None)
        if ready is None:
            return compute(relpath, None)
        blob, raw, entry = ready
        if entry is not None:
            outcome = self._valid(entry)
            if outcome is not None:
                self.hits += 1
                self.keys[relpath] = f"{blob}:{entry.deps}"
                return outcome
        self.misses += 1
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

    def _valid(self, entry: Entry) -> Outcome | None:
        try:
            profiles = orjson.loads(entry.profiles)
            if entry.deps != self.deps(profiles):
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


def cache_stats(desired_dir: str) -> dict[str, Any]:
    """Where the cache of `desired_dir` is and what it holds (`reconciler cache stats`)."""
    directory = cache_directory(desired_dir, current_config())
    path = directory / FILE_NAME
    stats: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not stats["exists"]:
        return stats
    file = open_file(directory, fallback=False)
    counts = file.counts() if file is not None else {}
    if file is not None:
        file.close()
    size = sum(p.stat().st_size for p in directory.glob(FILE_NAME + "*"))
    return {**stats, "bytes": size, **{k: counts.get(k, 0) for k in _TABLES}}


def clear_cache(desired_dir: str) -> tuple[str, bool]:
    """Remove the cache of `desired_dir`: its path, and whether there was one."""
    directory = cache_directory(desired_dir, current_config())
    return str(directory / FILE_NAME), remove(directory)
