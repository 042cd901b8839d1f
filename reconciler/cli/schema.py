"""`reconciler schema NAME`: print the JSON Schema of a desired-state file kind."""

from __future__ import annotations

import click

from reconciler.api.validate import schema
from reconciler.model import FILE_KINDS, OUTPUT_KINDS


@click.command("schema")
@click.argument("name", type=click.Choice((*FILE_KINDS, *OUTPUT_KINDS)))
def schema_cmd(name: str) -> int:
    """Print the JSON Schema (draft 2020-12) of NAME: settings (reconciler.yaml), module,
    profile or client. Editors use the same files through the `$schema` modeline. `plan`
    is the schema of `plan --format json`, for OPA/conftest or jq checks on plans."""
    click.echo(schema(name), nl=False)
    return 0
