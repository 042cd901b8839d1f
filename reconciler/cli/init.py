"""`reconciler init [--demo]`: create or upgrade the store's tables, optionally seed a demo."""

from __future__ import annotations

import click

from reconciler.api.init import init
from reconciler.cli import options
from reconciler.errors import EXIT_OK
from reconciler.live.demo import DEMO_NAMES


@click.command("init")
@options.store
@click.option(
    "--demo",
    is_flag=True,
    help="Also seed live state for the example clients (differs from desired-state/ on "
    "purpose, so status and plan show something); re-running resets those clients.",
)
def init_cmd(store_url: str, demo: bool) -> int:
    """Create client_app_overrides if missing (never alters an existing one), then create or
    upgrade the reconciler's registry and history tables. Safe to run again."""
    result = init(store_url, demo=demo)
    if result.created_legacy_table:
        click.echo("created table client_app_overrides")
    else:
        click.echo("client_app_overrides exists: left unchanged")
    for version, description in result.applied:
        click.echo(f"applied migration {version}: {description}")
    if not result.applied:
        click.echo("reconciler tables up to date")
    if result.demo_clients:
        names = ", ".join(DEMO_NAMES.get(c, c) for c in result.demo_clients)
        click.echo(f"seeded demo live state for {len(result.demo_clients)} clients: {names}")
    click.echo(f"store {result.store} is at schema version {result.schema_version}")
    return EXIT_OK
