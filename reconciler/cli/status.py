"""`reconciler status`: the live unified view of the fleet or of chosen clients (SPEC §4)."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.status import status
from reconciler.cli import options
from reconciler.errors import EXIT_OK
from reconciler.render.escape import term


@click.command("status")
@options.client_ids
@options.store
@options.desired_dir
@options.output_format
def status_cmd(client_ids: tuple[str, ...], store_url: str, desired_dir: str, fmt: str) -> int:
    """Show each client's modules as both live stores hold them.

    \b
    Without --client: one line per client (enabled count, legacy row, sources, conflicts).
    With --client ID: every module with enabled, version, source (legacy | registry |
    unified) and settings (sensitive values masked); conflicts between the stores are
    printed as warnings on stderr. --dir supplies client names, legacy defaults and which
    settings are sensitive, when that directory exists.
    """
    report = status(store_url, client_ids, desired_dir=desired_dir)
    for warning in report.warnings:
        click.echo(f"warning: {term(warning)}", err=True)
    render.write(report, fmt, sys.stdout)
    return EXIT_OK
