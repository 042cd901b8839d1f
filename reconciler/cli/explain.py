"""`reconciler explain CLIENT [MODULE[.settings.PATH]]`: where each resolved value comes from."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.explain import explain
from reconciler.cli import options
from reconciler.errors import EXIT_OK


@click.command("explain")
@click.argument("client")
@click.argument("selector", required=False, default="")
@options.desired_dir
@options.ref
@options.output_format
def explain_cmd(client: str, selector: str, desired_dir: str, ref: str | None, fmt: str) -> int:
    """Show, for each resolved value of CLIENT (client_id or name), the layer that set it and
    the layers it overrode, with file:line:col.

    \b
    Layers, lowest first: the module's default_settings, reconciler.yaml defaults, the
    client's profiles in order, the client file. SELECTOR narrows the answer:
      reconciler explain acme-dental                       # every value
      reconciler explain acme-dental forms                 # one module
      reconciler explain acme-dental forms.settings.max_fields
      reconciler explain acme-dental overrides.theme
    """
    report = explain(client, selector, desired_dir, ref=ref)
    render.write(report, fmt, sys.stdout)
    return EXIT_OK
