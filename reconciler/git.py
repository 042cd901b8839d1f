"""Files and trees of a git repository at a revision, without checking anything out (SPEC §6).

Every command runs the `git` binary with `-z` output and a cleaned environment, as
pre-commit's git.py does: a surrounding hook or CI step may export GIT_DIR, GIT_INDEX_FILE or
GIT_WORK_TREE for another repository or a temporary index, and git would obey them. (GitPython's
command runner starts from `os.environ` and can only add variables, never drop them, so the
binary is run directly.) Failures become ReconcilerError naming the command.
"""

from __future__ import annotations

import os
import subprocess
import threading
import weakref
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from reconciler.errors import ReconcilerError

# Variables that configure *how* git talks to the world, not *which* repository it uses.
_KEEP = frozenset(
    {
        "GIT_ASKPASS",
        "GIT_CONFIG_COUNT",
        "GIT_CONFIG_NOSYSTEM",
        "GIT_EXEC_PATH",
        "GIT_HTTP_PROXY_AUTHMETHOD",
        "GIT_SSH",
        "GIT_SSH_COMMAND",
        "GIT_SSL_CAINFO",
        "GIT_SSL_NO_VERIFY",
    }
)
_REGULAR = (b"100644", b"100755")  # blobs that are files: no symlinks, no submodules
FETCH_HINT = "in CI, fetch the history first (actions/checkout with fetch-depth: 0)"


def clean_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """`os.environ` without the GIT_* variables that point git at another repository or index."""
    env = dict(os.environ if base is None else base)
    for key in list(env):
        if not key.startswith("GIT_") or key in _KEEP:
            continue
        if key.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_")):
            continue
        del env[key]
    env["LC_ALL"] = "C"  # stable messages in errors
    return env


def run_git(args: Sequence[str], *, cwd: str | os.PathLike[str], what: str = "") -> bytes:
    """stdout of `git ARGS` run in `cwd`; a ReconcilerError naming the command when it fails."""
    (out,) = run_git_together([args], cwd=cwd, what=what)
    return out


def run_git_together(
    commands: Sequence[Sequence[str]], *, cwd: str | os.PathLike[str], what: str = ""
) -> list[bytes]:
    """stdout of several git commands started at once (each may walk a 100,000-file working
    tree; on several cores they overlap); the first failure raises, naming its command."""
    env = clean_env()
    try:
        procs = [
            subprocess.Popen(
                ["git", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for args in commands
        ]
    except FileNotFoundError:
        raise ReconcilerError(
            "git is not installed (needed for --ref and --changed-since)",
            hint="install git, or run without --ref/--changed-since",
        ) from None
    outputs = []
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate()
        if proc.returncode != 0:
            detail = err.decode("utf-8", "replace").strip().splitlines()
            reason = detail[-1] if detail else f"exit code {proc.returncode}"
            for other in procs:
                if other.poll() is None:
                    other.kill()
                    other.wait()
            raise ReconcilerError(
                f"{what or 'git failed'}: `{' '.join(['git', *args])}`: {reason}",
                hint=f"check the revision and the repository at {cwd}",
            )
        outputs.append(out)
    return outputs


# `plan --changed-since`'s git work started ahead (see changed_ahead), by its arguments.
_AHEAD: dict[tuple[str, str, str | None], Future[tuple[Repo, list[str]]]] = {}


@contextmanager
def changed_ahead(desired_dir: str, since: str, ref: str | None) -> Iterator[None]:
    """Start finding what changed since `since` (`changed_since`) in a helper thread: git
    walks the working tree while the command imports the store layer (`plan --changed-since`
    at 100,000 clients: about 0.1 s of git beside 0.25 s of imports). An answer not taken
    by the time the block ends is dropped (never served to a later call)."""
    key = (desired_dir, since, ref)
    found: Future[tuple[Repo, list[str]]] = Future()

    def work() -> None:
        try:
            found.set_result(_changed_since(desired_dir, since, ref))
        except BaseException as exc:  # raised where the answer is taken, as if found there
            found.set_exception(exc)

    _AHEAD[key] = found
    threading.Thread(target=work, name="reconciler-git", daemon=True).start()
    try:
        yield
    finally:
        if _AHEAD.get(key) is found:
            del _AHEAD[key]


def changed_since(desired_dir: str, since: str, ref: str | None) -> tuple[Repo, list[str]]:
    """The repository of `desired_dir` and the paths under `desired_dir` (relative to it)
    that differ between the commit `since` names and `ref` (None: the working tree, untracked
    files included); started ahead by `changed_ahead` when it was called."""
    ahead = _AHEAD.pop((desired_dir, since, ref), None)
    return _changed_since(desired_dir, since, ref) if ahead is None else ahead.result()


def _changed_since(desired_dir: str, since: str, ref: str | None) -> tuple[Repo, list[str]]:
    repo = Repo.containing(desired_dir, purpose="--changed-since")
    base_commit = repo.resolve(since)
    head = repo.resolve(ref) if ref else None
    return repo, repo.changed_paths(base_commit, head, repo.prefix_of(desired_dir))


def _split_z(out: bytes) -> list[str]:
    return [os.fsdecode(part) for part in out.split(b"\0") if part]


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """A regular file of a tree: its blob id and size in bytes."""

    sha: str
    size: int


@dataclass(frozen=True, slots=True)
class Repo:
    """A git working tree, found from any path inside it."""

    toplevel: Path

    @classmethod
    def containing(cls, path: str | os.PathLike[str], *, purpose: str = "--ref") -> Repo:
        """The repository holding `path` (which may not exist in the working tree any more)."""
        probe = Path(os.path.realpath(path))
        while not probe.is_dir() and probe != probe.parent:
            probe = probe.parent
        try:
            out = run_git(["rev-parse", "--show-toplevel"], cwd=probe, what="not a git repository")
        except ReconcilerError:
            raise ReconcilerError(
                f"{purpose} needs a git repository, but {os.fspath(path)} is not inside one",
                hint=f"run `git init` and commit the desired state, or drop {purpose}",
            ) from None
        return cls(Path(os.fsdecode(out.rstrip(b"\n"))))

    def prefix_of(self, path: str | os.PathLike[str]) -> str:
        """`path` relative to the top level, posix style; "" for the top level itself."""
        full = Path(os.path.realpath(path))
        try:
            rel = full.relative_to(os.path.realpath(self.toplevel))
        except ValueError:
            raise ReconcilerError(
                f"{os.fspath(path)} is outside the git repository at {self.toplevel}"
            ) from None
        return "" if rel == Path(".") else rel.as_posix()

    def resolve(self, rev: str) -> str:
        """The full sha of the commit `rev` names (branch, tag, sha, HEAD~2, origin/main...)."""
        if not rev or rev.startswith("-") or "\0" in rev:
            raise ReconcilerError(
                f"invalid git revision {rev!r}", hint="name a commit, e.g. HEAD~1"
            )
        try:
            out = run_git(
                ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
                cwd=self.toplevel,
            )
        except ReconcilerError:
            raise ReconcilerError(
                f"unknown git revision {rev!r} in {self.toplevel}",
                hint=f"check it with `git log --oneline {rev}`; {FETCH_HINT}",
            ) from None
        return out.decode().strip()

    def tree(self, commit: str, prefix: str) -> dict[str, TreeEntry]:
        """Regular files under `prefix` at `commit`, by path relative to `prefix`; {} if absent."""
        spec = f"{commit}:{prefix}" if prefix else f"{commit}^{{tree}}"
        try:
            kind = run_git(["cat-file", "-t", "--end-of-options", spec], cwd=self.toplevel)
        except ReconcilerError:
            return {}  # the directory does not exist at that commit
        return self._ls_tree(spec) if kind.strip() == b"tree" else {}

    def entries(self, commit: str, prefix: str, relpaths: Sequence[str]) -> dict[str, TreeEntry]:
        """Just these files under `prefix` at `commit` (missing ones are absent), listed by
        name in a few `ls-tree` calls instead of listing the whole tree."""
        spec = f"{commit}:{prefix}" if prefix else f"{commit}^{{tree}}"
        found: dict[str, TreeEntry] = {}
        for start in range(0, len(relpaths), 500):
            names = [f":(literal){p}" for p in relpaths[start : start + 500]]
            try:
                found.update(self._ls_tree(spec, names))
            except ReconcilerError:
                return found  # the directory does not exist at that commit
        return found

    def _ls_tree(self, spec: str, names: Sequence[str] = ()) -> dict[str, TreeEntry]:
        out = run_git(
            [
                "ls-tree",
                "-r",
                "-z",
                "-l",
                "--end-of-options",
                spec,
                *(["--", *names] if names else []),
            ],
            cwd=self.toplevel,
            what="cannot list the tree",
        )
        entries: dict[str, TreeEntry] = {}
        for record in out.split(b"\0"):
            if not record:
                continue
            meta, _, name = record.partition(b"\t")
            mode, kind, sha, size = meta.split()
            if kind == b"blob" and mode in _REGULAR:
                entries[os.fsdecode(name)] = TreeEntry(sha.decode(), int(size))
        return entries

    def changed_paths(self, base: str, head: str | None, prefix: str) -> list[str]:
        """Paths under `prefix` (relative to it) that differ between `base` and `head`, or the
        working tree when `head` is None (staged, unstaged and untracked files alike)."""
        spec = [f":(literal){prefix}"] if prefix else []
        diff = ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", base]
        commands = [[*diff, *([head] if head else []), "--", *spec]]
        if head is None:  # untracked files too
            commands.append(["ls-files", "--others", "--exclude-standard", "-z", "--full-name"])
            commands[-1] += ["--", *spec]
        found = [p for out in run_git_together(commands, cwd=self.toplevel) for p in _split_z(out)]
        cut = len(prefix) + 1 if prefix else 0
        return sorted({p[cut:] for p in found if not prefix or p.startswith(prefix + "/")})


class BlobReader:
    """One `git cat-file --batch` process serving many blob reads (10,000 files, one process)."""

    def __init__(self, repo: Repo) -> None:
        self._repo = repo
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        try:
            proc = subprocess.Popen(
                ["git", "cat-file", "--batch"],
                cwd=self._repo.toplevel,
                env=clean_env(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise ReconcilerError("git is not installed (needed for --ref)") from None
        weakref.finalize(self, _stop, proc)
        return proc

    def read(self, sha: str) -> bytes:
        """The content of blob `sha`."""
        if self._proc is None:
            self._proc = self._start()
        stdin: IO[bytes] = self._proc.stdin  # type: ignore[assignment]
        stdout: IO[bytes] = self._proc.stdout  # type: ignore[assignment]
        try:
            stdin.write(sha.encode() + b"\n")
            stdin.flush()
            header = stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise ReconcilerError(f"git cat-file --batch: object {sha} is not a blob")
            data = stdout.read(int(header[2]))
            stdout.read(1)  # the newline after each object
        except (OSError, ValueError) as exc:
            raise ReconcilerError(f"git cat-file --batch failed reading {sha}: {exc}") from None
        return data

    def read_many(self, shas: Sequence[str]) -> dict[str, bytes]:
        """Many blobs through one short-lived `cat-file --batch` (no round trip per blob)."""
        if not shas:
            return {}
        try:
            done = subprocess.run(
                ["git", "cat-file", "--batch"],
                cwd=self._repo.toplevel,
                env=clean_env(),
                input="".join(f"{sha}\n" for sha in shas).encode(),
                capture_output=True,
                check=False,
            )
        except FileNotFoundError:
            raise ReconcilerError("git is not installed (needed for --ref)") from None
        out, pos, found = done.stdout, 0, {}
        for sha in shas:
            end = out.find(b"\n", pos)
            header = out[pos:end].split()
            if done.returncode != 0 or len(header) != 3 or header[1] != b"blob":
                raise ReconcilerError(f"git cat-file --batch: cannot read blob {sha}")
            size = int(header[2])
            found[sha] = out[end + 1 : end + 1 + size]
            pos = end + 2 + size
        return found

    def close(self) -> None:
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()
