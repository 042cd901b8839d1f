"""`validate` and `schema`: check the desired state (SPEC §3)."""

from __future__ import annotations

import os

from reconciler.api import _batches
from reconciler.api._fleet import Progress, desired_stream, walk
from reconciler.api._shown import shown_errors
from reconciler.apply.gate import missing_commands
from reconciler.desired.load import SETTINGS_FILE, load_desired
from reconciler.desired.schema import schema_text
from reconciler.desired.shown import ShownPaths
from reconciler.desired.source import GitRevision
from reconciler.errors import Problem, ValidationFailed
from reconciler.model import DesiredState
from reconciler.plan.waves import assign
from reconciler.results import ValidationReport


def validate(desired_dir: str = "desired-state", *, ref: str | None = None) -> DesiredState:
    """Load, check and resolve a desired-state directory (SPEC §3).

    Args:
        desired_dir: the directory holding reconciler.yaml, modules/, profiles/, clients/.
        ref: a git revision (branch, tag, sha, HEAD~1...) to read instead of the working tree,
            without checking it out; `desired_dir` then names the directory's place in the
            repository that contains it.

    Returns:
        The resolved DesiredState: settings, module catalog, and every client resolved
        (settings defaults -> profiles in order -> client file).

    Raises:
        ValidationFailed: with every problem (file:line:column, JSON path, reason), sorted.
        ReconcilerError: the directory or its reconciler.yaml is missing (at `ref`); with `ref`,
            the directory is not in a git repository or the revision is unknown.
        The CLI exits 1 for both, 0 when the state is valid.
    """
    with shown_errors(desired_dir):
        if ref is None:
            return load_desired(desired_dir)
        with GitRevision(desired_dir, ref) as source:
            return load_desired(source)


def check(
    desired_dir: str = "desired-state",
    *,
    ref: str | None = None,
    jobs: int | None = None,
    on_progress: Progress | None = None,
) -> ValidationReport:
    """Validate like `validate`, streaming: memory grows with a batch of clients, not the fleet
    (and with one path per file read, kept for JUnit's one test case per file). With
    `rollout:` waves, also a wave that selects no client (or only clients of earlier waves)
    and a check command that is not found.

    Returns:
        A `ValidationReport`: counts of what was read (clients, modules, profiles), every
        problem, and warnings (files not read: a wrong-case suffix, a symlinked directory);
        `report.valid` is False (CLI exit 1) when there is any problem, whatever the warnings.

    Raises:
        ReconcilerError: as `validate`, for a tree that cannot be read at all.
    """
    read: list[str] = []  # every file read, for one JUnit test case per file
    shown = ShownPaths(desired_dir)
    try:
        with desired_stream(desired_dir, ref) as stream:
            source = stream.source
            read.append(SETTINGS_FILE)
            for folder in ("modules", "profiles", "policies"):  # policies/: issue 16
                read += source.list_files(folder)
            waves = stream.settings.rollout
            clients, fleet = 0, []  # fleet: what wave selectors read, when there are waves
            task, args = _batches.validated, (bool(waves),)
            for files, keys in walk(stream, task, args, jobs=jobs, on_progress=on_progress):
                clients += len(files)
                read += files
                fleet += keys
            problems: list[Problem] = []
            if waves:  # rollout waves are checked against every client (issue 14)
                problems += assign(waves, fleet).problems
                if ref is None:
                    problems += missing_commands(waves, os.path.abspath(desired_dir))
            return ValidationReport(
                problems=shown.problems(sorted(problems)),
                clients=clients,
                modules=len(stream.catalog),
                profiles=len(stream.profiles),
                files=[shown(f) for f in read],
                warnings=shown.problems(stream.warnings),
            )
    except ValidationFailed as failed:  # raised with shown paths by desired_stream
        return ValidationReport(
            problems=failed.problems,
            warnings=failed.warnings,
            files=[shown(f) for f in read],
            **failed.counts,
        )


def schema(kind: str) -> str:
    """The JSON Schema text of a desired-state file kind: settings, module, profile or client.

    Raises:
        ReconcilerError: an unknown kind (the message lists the known ones).
    """
    return schema_text(kind)
