"""Real git repositories for tests: init, commit, branch, with a fixed author and no user config."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.cli.cli_helpers import EXAMPLE

_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Author",
    "GIT_COMMITTER_EMAIL": "author@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(repo: Path, *args: str) -> str:
    """Run git in `repo` with a fixed identity and no global config; return stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(_ENV, HOME=str(repo), XDG_CONFIG_HOME=str(repo / ".no-config"))
    done = subprocess.run(
        ["git", "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def init_repo(path: Path) -> Path:
    """An empty repository on branch main."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def commit_all(repo: Path, message: str) -> str:
    """Stage everything and commit; return the new commit's sha."""
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def example_repo(tmp_path: Path, subdir: str = "desired-state") -> tuple[Path, Path]:
    """A repository whose first commit holds the example desired state under `subdir`."""
    repo = init_repo(tmp_path / "repo")
    desired = repo / subdir
    shutil.copytree(EXAMPLE, desired)
    commit_all(repo, "example desired state")
    return repo, desired
