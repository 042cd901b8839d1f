"""`reconciler merge-results FILE...`: one report for the whole fleet from its shards' results."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.merge import merge_results
from reconciler.cli import options
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.plan.drift import DriftReport
from reconciler.plan.model import Plan


@click.command("merge-results")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@options.output_format
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="For plans: exit 2 when there are changes, 0 when none, 1 on error.",
)
def merge_results_cmd(files: tuple[str, ...], fmt: str, detailed_exitcode: bool) -> int:
    """Combine the `--results FILE` of every shard of one plan, apply or drift run into one
    report, as if one process had run it: one PR comment or one drift report for the fleet.

    Refuses files of different kinds, desired commits, stores or shard counts, and names
    any missing shard (exit 1). Otherwise exits as the verb would: drift 2 when any client
    drifted; apply 1 when any client was stale or failed; plan 2 with --detailed-exitcode
    when there are changes.

    \b
    Examples:
      reconciler plan --shard auto --results plan-$JOB_COMPLETION_INDEX.json
      reconciler merge-results plan-*.json --format markdown > plan.md
    """
    merged = merge_results(files)
    render.write(merged, fmt, sys.stdout)
    result = merged.result
    if isinstance(result, DriftReport):
        return EXIT_CHANGES if result.any_drifted else EXIT_OK
    if isinstance(result, Plan):
        return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK
    return EXIT_OK if result.ok else EXIT_ERROR
