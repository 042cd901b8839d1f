"""Where desired-state files come from: a directory on disk, or (later) a git revision (SPEC §6)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol, runtime_checkable

from reconciler.errors import ReconcilerError

YAML_SUFFIXES = (".yaml", ".yml")


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


class WorkingTree:
    """Files of a directory as they are on disk; `commit` is HEAD when it is in a git repository."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.fspath(root)
        self._base = Path(self.root)
        self._commit: str | bool | None = False  # False: not looked up yet
        if not self._base.is_dir():
            raise ReconcilerError(
                f"desired-state directory not found: {self.root}",
                hint="pass the directory as an argument or with --dir (env RECONCILER_DIR)",
            )

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
            found.extend(f"{rel}/{name}" for name in filenames if name.endswith(YAML_SUFFIXES))
        return sorted(found)

    def read_bytes(self, relpath: str) -> bytes:
        try:
            return (self._base / relpath).read_bytes()
        except OSError as exc:
            raise ReconcilerError(f"cannot read {relpath}: {exc.strerror}") from exc

    def size(self, relpath: str) -> int:
        """Size in bytes, so oversized files are refused unread."""
        try:
            return (self._base / relpath).stat().st_size
        except OSError as exc:
            raise ReconcilerError(f"cannot read {relpath}: {exc.strerror}") from exc

    def exists(self, relpath: str) -> bool:
        """Whether a file exists in the tree."""
        return (self._base / relpath).is_file()


def _head_commit(path: Path) -> str | None:
    """HEAD of the git repository containing `path`, or None (GitPython imported only here)."""
    try:
        import git

        repo = git.Repo(path, search_parent_directories=True)
        try:
            return str(repo.head.commit.hexsha)
        finally:
            repo.close()
    except Exception:  # no git, not a repository, no commits yet: the tree simply has no commit
        return None
