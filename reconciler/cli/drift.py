"""`reconciler drift`: find clients changed outside git; exit 2 when any drifted."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.drift import drift
from reconciler.api.drift import heal as heal_drifted
from reconciler.api.merge import write_results
from reconciler.cli import options
from reconciler.cli.apply import confirm, run_meta, run_options
from reconciler.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from reconciler.plan.drift import DriftClass
from reconciler.render.progress import fleet_progress, progress


@click.command("drift")
@options.store
@options.selection
@options.output_format
@click.option(
    "--heal", is_flag=True, help="Apply the desired state to drifted clients (a `heal` run)."
)
@click.option("--yes", "-y", is_flag=True, help="Heal without asking.")
@options.results_file
@click.option(
    "--notify",
    "notify",
    multiple=True,
    metavar="URL",
    help="POST a JSON event (schemas/drift-event.schema.json) to URL when a client's drift "
    "appears, changes or is resolved; once per transition (repeatable).",
)
@run_options
def drift_cmd(
    store_url: str,
    desired_dir: str,
    ref: str | None,
    client_ids: tuple[str, ...],
    shard: str | None,
    jobs: int | None,
    fmt: str,
    heal: bool,
    yes: bool,
    results_file: str | None,
    notify: tuple[str, ...],
    force: bool,
    reason: str | None,
    actor: str,
) -> int:
    """Classify every client: in sync, drifted (live changed outside git since the last
    apply), pending (desired changed since the last apply), or never applied.

    Exit 2 when any client drifted, 0 otherwise; with --heal, 0 once every drifted client
    was healed, 1 if any could not be.
    """
    meta = run_meta(actor, reason) if heal else None  # a bad --actor fails before the walk
    with fleet_progress("drift") as on_progress:
        report = drift(
            store_url,
            desired_dir,
            ref=ref,
            client_ids=client_ids,
            shard=shard,
            jobs=jobs,
            on_progress=on_progress,
            notify=notify,
        )
    render.write(report, fmt, sys.stdout)
    if results_file:
        write_results(results_file, report, shard=shard, store_url=store_url)
    for sent in report.notifications:
        status = f"error: {sent.error}" if sent.error else "ok"
        click.echo(
            f"notify {sent.url}: {sent.sent} of {sent.events} event(s) sent, {status}", err=True
        )
    if not report.any_drifted:
        return EXIT_OK
    if not heal:
        return EXIT_CHANGES
    drifted = report.count(DriftClass.DRIFTED)
    confirm(f"Heal {drifted} drifted client(s)?", yes)
    assert meta is not None
    with progress(drifted, "heal") as tick:
        healed = heal_drifted(
            store_url, report, desired_dir, ref=ref, force=force, meta=meta, on_done=tick
        )
    render.write(healed, "text", sys.stderr)
    return EXIT_OK if healed.ok else EXIT_ERROR
