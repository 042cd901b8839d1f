"""Where desired-state files come from: a directory on disk, or a git revision of it (SPEC §6)."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from reconciler.errors import ReconcilerError
from reconciler.git import BlobReader, Repo, TreeEntry, run_git

if TYPE_CHECKING:
    from types import TracebackType

YAML_SUFFIXES = (".yaml", ".yml")
WRONG_CASE = "not read: the suffix must be lowercase .yaml or .yml"
LINKED_DIR = (
    "not read: a symlink to a directory (files under it are ignored; move them into the tree)"
)
# What `lstat` says of a file, as the desired-state cache keeps it: (st_mode, st_size,
# st_mtime_ns, st_ctime_ns, st_ino); a tuple, a fraction of an os.stat_result's memory.
FileStat = tuple[int, int, int, int, int]
_KIND, _FILE, _DIR, _LINK = 0o170000, stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK


@runtime_checkable
class Source(Protocol):
    """A read-only tree of desired-state files.

    Paths are relative to `root`, posix style (`clients/acme.yaml`). A source may also offer
    `size(relpath) -> int`; the loader then rejects over-limit files before reading them.
    """

    root: str

    @property
    def commit(self) -> str | None:
        """Git commit the files belong to, when known."""
        ...

    def list_files(self, subdir: str) -> list[str]:
        """Every *.yaml / *.yml file under `subdir` (recursively), sorted; [] if it is absent."""
        ...

    def read_bytes(self, relpath: str) -> bytes:
        """The raw content of one file."""
        ...


class UnreadableFile(ReconcilerError):
    """A desired-state file that is not read; the loader reports it at `relpath`:1:1."""

    def __init__(self, relpath: str, reason: str) -> None:
        super().__init__(f"cannot read {relpath}: {reason}")
        self.relpath = relpath
        self.reason = reason


class WorkingTree:
    """Files of a directory as they are on disk; `commit` is HEAD when it is in a git repository."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)
        self._base = Path(self.root)
        self._commit: str | bool | None = False  # False: not looked up yet
        self._dirs: dict[str, bool] = {}  # directory (relative) -> really inside the tree
        self.ignored: dict[str, str] = {}  # relpath -> why list_files left it out (warnings)
        if not self._base.is_dir():
            raise ReconcilerError(
                f"desired-state directory not found: {self.root}",
                hint="pass the directory as an argument or with --dir (env RECONCILER_DIR)",
            )
        self._real_root = self._base.resolve()

    @property
    def commit(self) -> str | None:
        if self._commit is False:
            self._commit = _head_commit(self._base)
        return self._commit if isinstance(self._commit, str) else None

    def list_files(self, subdir: str) -> list[str]:
        top = self._base / subdir
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = Path(dirpath).relative_to(self._base).as_posix()
            for name in filenames:
                if name.endswith(YAML_SUFFIXES):
                    found.append(f"{rel}/{name}")
                elif name.lower().endswith(YAML_SUFFIXES):  # UPPER.YML: said, not skipped quietly
                    self.ignored[f"{rel}/{name}"] = WRONG_CASE
            for name in dirnames:  # os.walk does not enter a symlinked directory: say so
                if os.path.islink(os.path.join(dirpath, name)):
                    self.ignored[f"{rel}/{name}"] = LINKED_DIR
        return sorted(found)

    def read_bytes(self, relpath: str) -> bytes:
        path, _ = self._checked(relpath)
        try:
            return path.read_bytes()
        except OSError as exc:
            raise UnreadableFile(relpath, exc.strerror or type(exc).__name__) from None

    def size(self, relpath: str) -> int:
        """Size in bytes, so oversized files are refused unread."""
        return self._checked(relpath)[1].st_size

    def scan(self, subdir: str) -> dict[str, FileStat]:
        """`lstat` of every file `list_files` lists under `subdir`, by relpath, in directory
        order (not sorted), noting the same `ignored` ones: one pass over the folder for the
        desired-state cache, each entry stat'ed by name relative to its open directory."""
        found: dict[str, FileStat] = {}
        if self._inside(subdir):
            self._scan_into(os.fspath(self._base / subdir), None, subdir + "/", found)
        return found

    def _scan_into(
        self, name: str, parent: int | None, prefix: str, found: dict[str, FileStat]
    ) -> None:
        try:  # unreadable or gone: skipped, as os.walk (list_files) skips it
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=parent)
        except OSError:
            return
        lstat = os.stat
        try:
            for entry in os.listdir(fd):
                try:
                    info = lstat(entry, dir_fd=fd, follow_symlinks=False)
                except OSError:
                    continue  # gone since listed: the cache checks it by path
                mode = info.st_mode
                kind = mode & _KIND
                if kind == _DIR or (kind == _LINK and _is_dir(entry, fd)):
                    if entry.startswith("."):
                        continue
                    if kind == _DIR:
                        self._scan_into(entry, fd, f"{prefix}{entry}/", found)
                    else:  # list_files' os.walk does not enter a symlinked directory
                        self.ignored[prefix + entry] = LINKED_DIR
                elif entry.endswith(YAML_SUFFIXES):
                    found[prefix + entry] = (
                        mode,
                        info.st_size,
                        info.st_mtime_ns,
                        info.st_ctime_ns,
                        info.st_ino,
                    )
                elif entry.lower().endswith(YAML_SUFFIXES):
                    self.ignored[prefix + entry] = WRONG_CASE
        finally:
            os.close(fd)

    def stat(self, relpath: str) -> os.stat_result:
        """The file's stat (its size, times and inode key the desired-state cache)."""
        return self._checked(relpath)[1]

    def _checked(self, relpath: str) -> tuple[Path, os.stat_result]:
        """The path of a regular file inside the tree, and its stat; a symlink may point only
        inside it, and a FIFO or device would block or never end, so neither is ever opened
        (SPEC §3). A plain file in a directory already known to be inside the tree costs one
        `lstat` (100,000 client files: no path resolution per file)."""
        path = self._base / relpath
        if self._inside(os.path.dirname(relpath)):
            try:
                info = os.lstat(path)
            except OSError:
                pass  # the full check below says why
            else:
                if stat.S_ISREG(info.st_mode):  # not a link: it is where its directory is
                    return path, info
        try:
            real = path.resolve(strict=True)
            info = real.stat()
        except (OSError, RuntimeError) as exc:  # dangling link, loop, permissions
            reason = getattr(exc, "strerror", None) or "symlink loop"
            raise UnreadableFile(relpath, reason) from None
        if not real.is_relative_to(self._real_root):
            raise UnreadableFile(
                relpath,
                "it is a symlink to a file outside the desired-state directory "
                "(copy the file into the tree instead)",
            )
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(relpath, "not a regular file (a FIFO, device or socket)")
        return path, info

    def _inside(self, reldir: str) -> bool:
        """Whether a directory of the tree really is inside it (not reached through a symlink
        to elsewhere); remembered per directory."""
        inside = self._dirs.get(reldir)
        if inside is None:
            real = Path(os.path.realpath(self._base / reldir))
            inside = self._dirs[reldir] = real.is_relative_to(self._real_root)
        return inside

    def exists(self, relpath: str) -> bool:
        """Whether a file of that name is in the tree (a dangling link counts, as it does when
        listing, so reading it reports the problem instead of skipping the file)."""
        path = self._base / relpath
        return os.path.lexists(path) and not path.is_dir()

    def uncommitted(self) -> bool:
        """Whether the directory differs from HEAD (changed, staged, deleted or untracked
        files); False outside a git repository, where there is no commit to differ from."""
        if self.commit is None:
            return False
        out = run_git(
            ["status", "--porcelain", "-z", "--untracked-files=all", "--", "."], cwd=self._base
        )
        return bool(out.strip(b"\0"))

    def content_fingerprint(self) -> str:
        """sha256 over every file's path and bytes (dot-directories skipped): what a saved plan
        made from uncommitted files checks the working tree against before it is applied."""
        files: list[tuple[str, bytes]] = []
        for dirpath, dirnames, filenames in os.walk(self._base):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                path = Path(dirpath) / name
                rel = path.relative_to(self._base).as_posix()
                files.append((rel, hashlib.sha256(path.read_bytes()).digest()))
        digest = hashlib.sha256()
        for rel, content in sorted(files):
            digest.update(rel.encode() + b"\0" + content)
        return digest.hexdigest()


def _is_dir(name: str, dir_fd: int) -> bool:
    """Whether a symlink in the open directory points to a directory."""
    try:
        return stat.S_ISDIR(os.stat(name, dir_fd=dir_fd).st_mode)
    except OSError:
        return False


def _head_commit(path: Path) -> str | None:
    """HEAD of the git repository containing `path`, or None: not a repository, no commit yet,
    or no git. One `git rev-parse`, run like every other git call (reconciler.git)."""
    try:
        out = run_git(["rev-parse", "--verify", "--quiet", "HEAD^{commit}"], cwd=path)
    except (ReconcilerError, OSError):
        return None
    return out.decode().strip() or None


class GitRevision:
    """Files of a desired-state directory at a git revision, read from git's object store: no
    checkout, the working tree is never touched. `commit` is the resolved sha.

    `path` is the directory in the working tree (it may have been deleted there since); its
    place relative to the repository's top level is where the files are looked up at `rev`.
    Close it (or use `with`) to stop its `git cat-file` process.
    """

    def __init__(self, path: str | os.PathLike[str], rev: str, *, repo: Repo | None = None) -> None:
        self.repo = repo or Repo.containing(path)
        self.prefix = self.repo.prefix_of(path)
        self.rev = rev
        self._commit = self.repo.resolve(rev)
        self.root = f"{os.fspath(path)}@{rev}"
        self.directory = os.fspath(path)  # on disk: where `file:` secret references are read
        # Listed lazily, one top-level folder at a time, or file by file (prefetch, exists):
        # `plan --changed-since` reads a handful of files of a 100,000-file tree.
        self._tree: dict[str, TreeEntry] = {}
        self._listed: set[str] = set()
        self._looked_up: set[str] = set()
        self._blobs = BlobReader(self.repo)
        self._cache: dict[str, bytes] = {}

    @property
    def commit(self) -> str:
        return self._commit

    def list_files(self, subdir: str) -> list[str]:
        top = subdir.rstrip("/") + "/"
        if top not in self._listed:
            folder = f"{self.prefix}/{top[:-1]}" if self.prefix else top[:-1]
            listed = self.repo.tree(self._commit, folder)
            self._tree.update((top + path, entry) for path, entry in listed.items())
            self._listed.add(top)
        return sorted(
            path
            for path in self._tree
            if path.startswith(top)
            and path.endswith(YAML_SUFFIXES)
            and not any(part.startswith(".") for part in path[len(top) :].split("/")[:-1])
        )

    def _lookup(self, relpaths: Collection[str]) -> None:
        """Find these files' entries by name (not listing their folders)."""
        missing = sorted(
            p
            for p in relpaths
            if p not in self._tree
            and p not in self._looked_up
            and p.split("/", 1)[0] + "/" not in self._listed
        )
        if missing:
            self._tree.update(self.repo.entries(self._commit, self.prefix, missing))
            self._looked_up.update(missing)

    def read_bytes(self, relpath: str) -> bytes:
        cached = self._cache.pop(relpath, None)
        if cached is not None:
            return cached
        return self._blobs.read(self._entry(relpath).sha)

    def prefetch(self, relpaths: Collection[str]) -> None:
        """Read these files in one batch; each is then served once from memory."""
        self._lookup(relpaths)
        wanted = sorted({p for p in relpaths if p in self._tree and p not in self._cache})
        blobs = self._blobs.read_many([self._tree[p].sha for p in wanted])
        self._cache.update((p, blobs[self._tree[p].sha]) for p in wanted)

    def size(self, relpath: str) -> int:
        """Size in bytes from the tree listing, so oversized blobs are refused unread."""
        return self._entry(relpath).size

    def blob_id(self, relpath: str) -> str:
        """The file's git blob id, from the tree listing (the desired-state cache's key)."""
        return self._entry(relpath).sha

    def _entry(self, relpath: str) -> TreeEntry:
        self._lookup([relpath])
        entry = self._tree.get(relpath)
        if entry is None:
            at = f"{self.root} ({self._commit[:12]})"
            raise ReconcilerError(f"cannot read {relpath}: not in {at}")
        return entry

    def exists(self, relpath: str) -> bool:
        self._lookup([relpath])
        return relpath in self._tree

    def existing(self, relpaths: Collection[str]) -> list[str]:
        """Those of `relpaths` that exist at the revision, sorted (one batched look-up)."""
        self._lookup(relpaths)
        return sorted(p for p in relpaths if p in self._tree)

    def close(self) -> None:
        """Stop the blob reader process."""
        self._blobs.close()

    def __enter__(self) -> GitRevision:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
