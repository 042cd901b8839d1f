"""Writing the files the reconciler produces (saved plans, imported client files): atomically,
with the usual mode, and never through a symlink (issue 18, finding 7).

The content goes to a temporary file in the target's directory, made `0666 & ~umask` (0644
under the usual umask 022, as `cp` or an editor would), flushed, then renamed onto the name:
a reader sees the old file or the new one, never half of one. A rename replaces a symlink
itself and never writes the file it points to. Without `overwrite`, the temporary file is
hard-linked to the name instead, which fails if any entry of that name exists (a dangling
symlink included), so a file created meanwhile is never clobbered.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path


def current_umask() -> int:
    """The process umask, read without changing it where Linux tells it (/proc), else by
    setting and restoring it."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike[str], data: bytes, *, overwrite: bool) -> bool:
    """Write `data` to `path` atomically with mode 0666 & ~umask; True when written.

    With `overwrite` an existing file or symlink of that name is replaced (a symlink is
    replaced by the file, its target is left alone); without it nothing is written and False
    is returned when any entry of that name exists. Raises OSError (the caller words it).
    """
    target = Path(path)
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(errno.EISDIR, "it is a directory", str(target))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(tmp, target)
            return True
        try:
            os.link(tmp, target, follow_symlinks=False)
        except FileExistsError:
            return False
        except OSError as exc:  # a file system without hard links: exclusive create instead
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
            return _create_exclusive(target, data)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _create_exclusive(target: Path, data: bytes) -> bool:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o666)  # O_EXCL: fails on any entry, a symlink included
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return True
