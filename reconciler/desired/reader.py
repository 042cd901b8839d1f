"""Reading desired-state files for the loader: size limits first, one problem per unreadable
file, and a digest of each file read while the shared files load (the cache's key)."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.desired.source import Source, UnreadableFile
from reconciler.desired.yamlsafe import YamlFile, parse, too_big
from reconciler.errors import Location, Problem


class Reader:
    """Reads and parses files, refusing oversized ones before reading them."""

    def __init__(self, source: Source, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        self._size = getattr(source, "size", None)
        # relpath -> sha1 of the bytes (or why it was not read), while recording (the cache).
        self.digests: dict[str, str] | None = None

    def read(self, relpath: str, limit: int, raw: bytes | None = None) -> YamlFile | None:
        """The parsed file, or None with its problems collected; `raw`: bytes already read."""
        try:
            if raw is None:
                if self._size is not None:
                    size = self._size(relpath)
                    if size > limit:
                        self._record(relpath, f"!size {size}")
                        self.problems.append(too_big(relpath, size, limit))
                        return None
                raw = self.source.read_bytes(relpath)
        except UnreadableFile as exc:  # one problem among all the others, not a stop
            self._record(relpath, f"!{exc.reason}")
            reason = f"cannot read the file: {exc.reason}"
            self.problems.append(Problem(Location(relpath, 1, 1), "$", reason))
            return None
        self._record(relpath, hashlib.sha1(raw).hexdigest())
        yf, problems = parse(relpath, raw, max_bytes=limit)
        self.problems.extend(problems)
        return yf

    def _record(self, relpath: str, digest: str) -> None:
        if self.digests is not None:
            self.digests[relpath] = digest


@contextmanager
def no_gc() -> Iterator[None]:
    """Loading allocates millions of small acyclic objects that all stay alive; the cyclic GC
    would rescan them again and again (about a third of the time at 10,000 clients)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
