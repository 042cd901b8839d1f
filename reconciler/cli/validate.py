"""`reconciler validate [DIR]`: check the desired state, report every problem (SPEC §3, §7)."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.validate import check
from reconciler.cli import options
from reconciler.errors import EXIT_ERROR, EXIT_OK
from reconciler.render.progress import fleet_progress
from reconciler.render.validation import write_warnings


@click.command("validate")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@options.desired_dir
@options.ref
@options.jobs
@options.ci_output_format
def validate_cmd(
    directory: str | None, desired_dir: str, ref: str | None, jobs: int | None, fmt: str
) -> int:
    """Check DIRECTORY (default: --dir, RECONCILER_DIR or ./desired-state).

    Prints every problem as `file:line:column: $.json.path: reason`, sorted, then a count;
    exits 1 when there is any, 0 when the desired state is valid.
    """
    root = directory or desired_dir
    with fleet_progress("validate") as on_progress:
        report = check(root, ref=ref, jobs=jobs, on_progress=on_progress)
    render.write(report, fmt, sys.stdout)
    if fmt != "json":  # JSON carries them as `warnings`; stdout stays the result
        write_warnings(report, sys.stderr)
    return EXIT_OK if report.valid else EXIT_ERROR
