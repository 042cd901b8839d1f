"""`reconciler plan`: what apply would change, per client and store."""

from __future__ import annotations

import contextlib
import sys

import click

from reconciler import render
from reconciler.cli import options
from reconciler.errors import EXIT_CHANGES, EXIT_OK
from reconciler.render.escape import term
from reconciler.render.progress import fleet_progress


@click.command("plan")
@options.store
@options.selection
@options.ci_output_format
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    help="Save the plan for `apply FILE` (no secrets inside).",
)
@click.option(
    "--changed-since",
    default=None,
    metavar="REV",
    help="Only clients whose resolved desired state differs from git revision REV "
    "(e.g. origin/main); deleted clients are reported, not planned.",
)
@options.results_file
@options.adopt_only
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 2 when there are changes, 0 when none, 1 on error.",
)
def plan_cmd(
    store_url: str,
    desired_dir: str,
    ref: str | None,
    client_ids: tuple[str, ...],
    shard: str | None,
    jobs: int | None,
    fmt: str,
    out_file: str | None,
    changed_since: str | None,
    results_file: str | None,
    adopt_only: bool,
    detailed_exitcode: bool,
) -> int:
    """Show the changes apply would make: modules enabled/disabled, versions, settings per
    JSON path (sensitive values as "(sensitive)") and legacy overrides, per store.

    \b
    Examples:
      reconciler plan
      reconciler plan --format markdown > plan.md     # PR comment
      reconciler plan --out plan.json && reconciler apply plan.json
      reconciler plan --changed-since origin/main --format markdown   # CI on a PR
      reconciler plan --shard auto --results plan-$JOB_COMPLETION_INDEX.json  # one shard
    """
    with contextlib.ExitStack() as stack:
        if changed_since is not None:  # git walks the tree while the store layer is imported
            from reconciler.git import changed_ahead

            stack.enter_context(changed_ahead(desired_dir, changed_since, ref))
        from reconciler.api import heap
        from reconciler.api.plan import plan, save_plan

        # The plan is kept to the end of the command: the collector does not traverse it again
        # while it is written (api/heap.py).
        with heap.kept() as keep:
            with fleet_progress("plan") as on_progress:
                planned = plan(
                    store_url,
                    desired_dir,
                    ref=ref,
                    client_ids=client_ids,
                    shard=shard,
                    changed_since=changed_since,
                    jobs=jobs,
                    adopt_only=adopt_only,
                    on_progress=on_progress,
                )
            keep()
            if out_file:
                save_plan(planned, out_file, desired_dir=desired_dir, ref=ref)
                click.echo(f"saved plan to {term(out_file)}", err=True)
            if results_file:
                from reconciler.api.merge import write_results  # only with --results

                write_results(results_file, planned, shard=shard, store_url=store_url)
            render.write(planned, fmt, sys.stdout)
            if detailed_exitcode and planned.has_changes:
                return EXIT_CHANGES
            return EXIT_OK
