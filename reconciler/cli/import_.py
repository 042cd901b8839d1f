"""`reconciler import`: write client YAML from the live state of both stores (SPEC §6)."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.adopt import import_state
from reconciler.cli import options
from reconciler.errors import EXIT_ERROR, EXIT_OK
from reconciler.model import STRATEGY_NAMES
from reconciler.render.escape import term
from reconciler.render.imports import write_secret_variables, write_warnings


@click.command("import")
@options.store
@options.desired_dir
@options.client_ids
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Write the client files here (default: DIR/clients).",
)
@click.option("--force", is_flag=True, help="Overwrite existing client files.")
@click.option(
    "--strategy",
    type=click.Choice(STRATEGY_NAMES),
    default="merge",
    show_default=True,
    help="Client strategy written into the files.",
)
@options.output_format
def import_cmd(
    store_url: str,
    desired_dir: str,
    client_ids: tuple[str, ...],
    out_dir: str | None,
    force: bool,
    strategy: str,
    fmt: str,
) -> int:
    """Adopt live state as client files: every module classified as legacy, registry or
    unified, conflicts between the stores reported (stderr, or in --format json).

    Files validate against DIR's catalog and plan to nothing: what a file cannot express is
    left out or marked `strategy: preserve`. Existing files are kept unless --force. Exit 1 when
    a file was kept or a client could not be imported.

    \b
    Examples:
      reconciler import                      # every client with live state
      reconciler import --client 0ee6a19a-... --force
    """
    report = import_state(
        store_url,
        desired_dir,
        client_ids=client_ids,
        out_dir=out_dir,
        force=force,
        strategy=strategy,  # type: ignore[arg-type]
    )
    if fmt != "json":  # JSON carries the conflicts and the variables itself
        write_warnings(report, sys.stderr)
        write_secret_variables(report, sys.stderr)
    render.write(report, fmt, sys.stdout)
    for client in report.clients:
        if client.status == "failed":
            click.echo(term(f"error: client {client.client_id}: {client.error}"), err=True)
    return EXIT_OK if report.ok else EXIT_ERROR
