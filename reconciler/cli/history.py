"""`reconciler history [show RUN]`: recorded runs and their per-client before/after."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.history import history, show_run
from reconciler.cli import options
from reconciler.errors import EXIT_OK
from reconciler.results import RunList


@click.group("history", invoke_without_command=True)
@options.store
@click.option(
    "--client", "client_id", default=None, metavar="ID", help="Only runs that changed this client."
)
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1), help="How many runs."
)
@options.output_format
@click.pass_context
def history_cmd(
    ctx: click.Context, store_url: str, client_id: str | None, limit: int, fmt: str
) -> int:
    """List recorded runs, newest first (apply, revert, heal), or `history show RUN`."""
    if ctx.invoked_subcommand is not None:
        return EXIT_OK
    runs = history(store_url, client_id=client_id, limit=limit)
    render.write(RunList(runs=tuple(runs)), fmt, sys.stdout)
    return EXIT_OK


@history_cmd.command("show")
@click.argument("run_id", type=int)
@options.store
@options.desired_dir
@options.client_ids
@options.output_format
def show_cmd(
    run_id: int, store_url: str, desired_dir: str, client_ids: tuple[str, ...], fmt: str
) -> int:
    """Show one run: who, when, why, and each client's before -> after (secrets masked)."""
    detail = show_run(store_url, run_id, client_ids=client_ids, desired_dir=desired_dir)
    render.write(detail, fmt, sys.stdout)
    return EXIT_OK
