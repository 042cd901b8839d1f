"""Paths as users' tools open them (issue 16): a file of the desired state relative to the
current directory, or absolute when it is outside it, so `file:line:col` works in editors,
problem matchers and CI annotations wherever `reconciler` was run from.

Inside the loader, files stay relative to the desired-state root (`clients/acme.yaml`: catalog
stems, `--changed-since` paths and imports compare them so); the api turns them into shown
paths once, when an error is raised or a result is built (api/_shown.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from reconciler.errors import Location, Problem, ValidationFailed


class ShownPaths:
    """`shown("clients/acme.yaml")` -> `sub/desired-state/clients/acme.yaml` for a tree at
    `root` (as the user gave it), seen from `cwd` (default: the current directory)."""

    def __init__(self, root: str | os.PathLike[str], cwd: str | None = None) -> None:
        here = os.path.abspath(cwd or os.getcwd())
        top = os.path.abspath(os.fspath(root))
        if top == here:
            self.prefix = ""
        elif os.path.commonpath([top, here]) == here:
            self.prefix = os.path.relpath(top, here).replace(os.sep, "/") + "/"
        else:
            self.prefix = top.replace(os.sep, "/").rstrip("/") + "/"

    def __call__(self, relpath: str) -> str:
        """A path relative to the root, shown; "" (no file) and non-paths stay as they are."""
        if not relpath or relpath.startswith("client ") or os.path.isabs(relpath):
            return relpath
        return self.prefix + relpath

    def location(self, location: Location) -> Location:
        if not self.prefix or not location.file:
            return location
        return Location(self(location.file), location.line, location.column)

    def problems(self, problems: Iterable[Problem]) -> tuple[Problem, ...]:
        return tuple(
            Problem(self.location(p.location), p.path, p.reason, warning=p.warning)
            for p in problems
        )

    def error(self, failed: ValidationFailed) -> ValidationFailed:
        """The same error, its problems and warnings at shown paths."""
        return ValidationFailed(
            failed.message,
            hint=failed.hint,
            problems=self.problems(failed.problems),
            counts=failed.counts,
            warnings=self.problems(failed.warnings),
        )
