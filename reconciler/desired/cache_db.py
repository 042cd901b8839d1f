"""The desired-state cache's one file (issue 15): a SQLite database under `.reconciler-cache/`.

Rows are content-addressed, so the file is shared safely by every tree, revision and process
that uses it: a row says "this file's bytes (its git blob id), at this path, under these
dependencies, resolve to this". SQLite in WAL mode lets readers run while one process writes;
a writer that cannot get the lock in time skips its write (the next run writes it). Anything
wrong with the file (not a database, truncated, another format, a checksum that does not
match) makes it ignored: it is removed and rebuilt with one warning, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_FORMAT = "reconciler-desired-cache 6"
FILE_NAME = "desired.sqlite"
BUSY_MS = 2000  # how long a writer waits for another process's write before skipping its own

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    path TEXT NOT NULL, blob TEXT NOT NULL, code TEXT NOT NULL, deps TEXT NOT NULL,
    profiles TEXT NOT NULL, client_id TEXT, ok INTEGER NOT NULL, payload BLOB NOT NULL,
    checksum TEXT NOT NULL,
    UNIQUE (path, blob, code)
);
CREATE INDEX IF NOT EXISTS entries_client ON entries (client_id);
CREATE TABLE IF NOT EXISTS stamps (
    tree TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
    ctime_ns INTEGER NOT NULL, ino INTEGER NOT NULL, blob TEXT NOT NULL,
    PRIMARY KEY (tree, path)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS verdicts (digest TEXT PRIMARY KEY, payload BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (key TEXT PRIMARY KEY, blobs TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS insync (
    scope TEXT NOT NULL, client_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (scope, client_id)
) WITHOUT ROWID;
"""


class CacheUnusable(Exception):
    """The cache file cannot be trusted or used; the caller runs without it."""


@dataclass(frozen=True, slots=True)
class Entry:
    """A cached outcome of one client file: what it depended on and the encoded result."""

    deps: str
    profiles: str  # JSON list of the profile names the file uses
    payload: bytes


# What `lstat` said of a working-tree file when its blob id was computed:
# (size, mtime_ns, ctime_ns, inode, blob id).
Stamp = tuple[int, int, int, int, str]


def checksum(payload: bytes) -> str:
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


class CacheFile:
    """One open cache database; every method raises CacheUnusable on a database error."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self._pending: list[tuple[str, str, str, str, str, str | None, int, bytes, str]] = []
        self._stamps: list[tuple[str, str, int, int, int, int, str]] = []
        self.closed = False
        self._owner = threading.get_ident()
        self._readers: dict[int, sqlite3.Connection] = {}  # other threads' (see _reading)
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"  # as .pytest_cache does: git never lists it
        if not ignore.exists():
            ignore.write_text("# created by module-reconciler: a local cache\n*\n")
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))  # never world-readable
            conn = sqlite3.connect(
                self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False
            )
            os.chmod(self.path, 0o600)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)", (CACHE_FORMAT,)
            )
            found = conn.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None
        if found is None or found[0] != CACHE_FORMAT:
            conn.close()
            raise CacheUnusable(f"written in another format ({found[0] if found else 'none'})")
        return conn

    def close(self) -> None:
        self.closed = True
        self._conn.close()
        for conn in list(self._readers.values()):
            conn.close()

    def _reading(self) -> sqlite3.Connection:
        """The connection this thread reads with: the opening thread's own (which writes);
        another thread (a plan's helper reading the memo, api/_batches.py) gets a connection
        of its own, so neither waits for the other (WAL: readers never block a writer)."""
        thread = threading.get_ident()
        if thread == self._owner:
            return self._conn
        conn = self._readers.get(thread)
        if conn is None:
            if self.closed:
                raise sqlite3.ProgrammingError("the cache file is closed")
            conn = sqlite3.connect(
                self.path, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False
            )
            self._readers[thread] = conn
        return conn

    def lookup_many(
        self, keys: Sequence[tuple[str, str]], code: str
    ) -> dict[tuple[str, str], Entry]:
        """Entries of these (path, blob) keys computed by `code` that exist with a matching
        checksum."""
        found: dict[tuple[str, str], Entry] = {}
        try:
            for start in range(0, len(keys), 400):
                part = keys[start : start + 400]
                values = ", ".join(["(?, ?)"] * len(part))
                rows = self._reading().execute(
                    f"WITH k (path, blob) AS (VALUES {values}) "
                    "SELECT e.path, e.blob, e.deps, e.profiles, e.payload, e.checksum "
                    "FROM k JOIN entries AS e ON e.path = k.path AND e.blob = k.blob "
                    "AND e.code = ?",
                    [*(x for key in part for x in key), code],
                )
                for path, blob, deps, profiles, payload, summed in rows:
                    if checksum(payload) != summed:
                        raise CacheUnusable(f"a damaged entry for {path}")
                    found[(path, blob)] = Entry(deps, profiles, payload)
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None
        return found

    def put(
        self,
        path: str,
        blob: str,
        code: str,
        deps: str,
        profiles: str,
        client_id: str | None,
        ok: bool,
        payload: bytes,
    ) -> None:
        self._pending.append(
            (path, blob, code, deps, profiles, client_id, int(ok), payload, checksum(payload))
        )

    def put_stamp(self, tree: str, path: str, stamp: Stamp) -> None:
        self._stamps.append((tree, path, *stamp))

    def flush(self) -> bool:
        """Write what was put since the last flush, in one transaction; skipped (not failed)
        when another process holds the write lock longer than BUSY_MS: whether it was written."""
        if not self._pending and not self._stamps:
            return True
        entries, stamps = self._pending, self._stamps
        self._pending, self._stamps = [], []
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", entries
            )
            self._conn.executemany(
                "INSERT OR REPLACE INTO stamps VALUES (?, ?, ?, ?, ?, ?, ?)", stamps
            )
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if "locked" in str(exc) or "busy" in str(exc):
                log.debug("desired cache busy; %d entries not written this time", len(entries))
                return False
            raise CacheUnusable(str(exc)) from None
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None
        log.debug("desired cache: %d entries, %d stamps written", len(entries), len(stamps))
        return True

    def stamps(self, tree: str, paths: Sequence[str] | None = None) -> dict[str, Stamp]:
        """The stamps of a tree's files: every one, or those of `paths`."""
        try:
            query = "SELECT path, size, mtime_ns, ctime_ns, ino, blob FROM stamps WHERE tree = ?"
            if paths is None:
                return {row[0]: row[1:] for row in self._reading().execute(query, (tree,))}
            found: dict[str, Stamp] = {}
            for start in range(0, len(paths), 500):
                part = list(paths[start : start + 500])
                marks = ", ".join("?" * len(part))
                rows = self._reading().execute(f"{query} AND path IN ({marks})", [tree, *part])
                found.update((row[0], row[1:]) for row in rows)
            return found
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None

    def claims(self, code: str, client_ids: Iterable[str]) -> list[tuple[str, str]]:
        """(path, blob) of every entry computed by `code` that claims one of `client_ids` or
        no id at all (a file in error), whatever tree or revision it was read in."""
        ids = list(client_ids)
        marks = ", ".join("?" * len(ids))
        try:
            return (
                self._reading()
                .execute(
                    f"SELECT path, blob FROM entries WHERE client_id IN ({marks}) AND code = ? "
                    "UNION SELECT path, blob FROM entries WHERE client_id IS NULL AND code = ?",
                    [*ids, code, code],
                )
                .fetchall()
            )
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None

    def claimed_by(self, code: str, keys: Sequence[tuple[str, str]]) -> dict[str, str | None]:
        """Path -> the client_id claimed, of these (path, blob) keys that have an entry
        computed by `code` (a path missing: its claim is unknown)."""
        found: dict[str, str | None] = {}
        try:
            for start in range(0, len(keys), 400):
                part = keys[start : start + 400]
                values = ", ".join(["(?, ?)"] * len(part))
                found.update(
                    self._reading()
                    .execute(
                        f"WITH k (path, blob) AS (VALUES {values}) SELECT e.path, e.client_id "
                        "FROM k JOIN entries AS e ON e.path = k.path AND e.blob = k.blob "
                        "AND e.code = ?",
                        [*(x for key in part for x in key), code],
                    )
                    .fetchall()
                )
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None
        return found

    def snapshot(self, key: str) -> str | None:
        """The blobs digest of a listing recorded under `key` (see cache_fleet.py)."""
        try:
            row = (
                self._reading()
                .execute("SELECT blobs FROM snapshots WHERE key = ?", (key,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None
        return None if row is None else str(row[0])

    def put_snapshot(self, key: str, blobs: str) -> None:
        try:
            self._conn.execute(
                "INSERT OR REPLACE INTO snapshots (key, blobs) VALUES (?, ?)", (key, blobs)
            )
        except sqlite3.OperationalError as exc:
            log.debug("desired cache busy; snapshot not written (%s)", exc)
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None

    def verdict(self, digest: str) -> bytes | None:
        try:
            row = (
                self._reading()
                .execute("SELECT payload FROM verdicts WHERE digest = ?", (digest,))
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None
        return None if row is None else bytes(row[0])

    def put_verdict(self, digest: str, payload: bytes) -> None:
        try:
            self._conn.execute(
                "INSERT OR REPLACE INTO verdicts (digest, payload) VALUES (?, ?)", (digest, payload)
            )
        except sqlite3.OperationalError as exc:
            log.debug("desired cache busy; verdict not written (%s)", exc)
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None

    def insync_keys(self, scope: str, client_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The key under which each of these clients was last remembered, and what was
        remembered (api/_memo.py: "" for the plan memo's "unchanged")."""
        found: dict[str, tuple[str, str]] = {}
        try:
            for start in range(0, len(client_ids), 500):
                part = list(client_ids[start : start + 500])
                marks = ", ".join("?" * len(part))
                rows = self._reading().execute(
                    f"SELECT client_id, key, value FROM insync WHERE scope = ? "
                    f"AND client_id IN ({marks})",
                    [scope, *part],
                )
                found.update((cid, (key, value)) for cid, key, value in rows)
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None
        return found

    def put_insync(self, scope: str, rows: Sequence[tuple[str, str, str]]) -> None:
        """Remember (client_id, key, value) rows; skipped when the file is busy."""
        if not rows:
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(
                "INSERT OR REPLACE INTO insync (scope, client_id, key, value) VALUES (?, ?, ?, ?)",
                [(scope, cid, key, value) for cid, key, value in rows],
            )
            self._conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise CacheUnusable(str(exc)) from None
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None

    def counts(self) -> dict[str, int]:
        try:
            return {
                table: self._reading().execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("entries", "stamps", "verdicts", "snapshots", "insync")
            }
        except sqlite3.Error as exc:
            raise CacheUnusable(str(exc)) from None


def remove(directory: Path) -> bool:
    """Delete the cache file (and its WAL files); whether there was one."""
    existed = False
    for suffix in ("", "-wal", "-shm"):
        try:
            (directory / (FILE_NAME + suffix)).unlink()
            existed = True
        except FileNotFoundError:
            pass
    return existed
