"""`reconciler serve`: the web dashboard (SPEC §8), loopback by default."""

from __future__ import annotations

import copy
import os
from typing import Any

import click

from reconciler.api.history import history
from reconciler.cli import options
from reconciler.errors import EXIT_OK
from reconciler.live.engine import display_url


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--allowed-host",
    "allowed_hosts",
    multiple=True,
    metavar="NAME",
    help="A Host header to accept (repeatable; *.example.com for subdomains). Required with a "
    "--host off loopback: other names are refused (DNS rebinding).",
)
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="TCP port."
)
@options.store
@options.desired_dir
@click.option(
    "--cache-ttl",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds before the cached drift report and plan are recomputed (in the background; "
    "the Refresh button recomputes at once).",
)
def serve_cmd(
    host: str,
    allowed_hosts: tuple[str, ...],
    port: int,
    store_url: str,
    desired_dir: str,
    cache_ttl: float,
) -> int:
    """Serve the dashboard: fleet drift, clients, plan, history and revert, and /metrics for
    Prometheus.

    Read-only pages and /metrics need no token. Revert (and `/api/drift?refresh=1`) needs
    the token from env RECONCILER_SERVE_TOKEN (at least 32 characters); without it a token is
    generated and printed once on stderr. Wrong tokens are throttled per client address.
    """
    import uvicorn

    from reconciler.web.app import ServeConfig, create_app
    from reconciler.web.security import (
        LOOPBACK_HOSTS,
        TOKEN_ENV,
        check_serve_options,
        new_token,
    )

    token = os.environ.get(TOKEN_ENV, "")
    check_serve_options(host, allowed_hosts, token or None)
    history(store_url, limit=1)  # fail now, with the CLI's error, if the store is unusable
    if not token:
        token = new_token()
        click.echo(f"revert token (set {TOKEN_ENV} to choose one): {token}", err=True)
    if host not in LOOPBACK_HOSTS:
        click.echo(
            f"warning: serving on {host}, reachable from other machines; pages show fleet "
            "state without a token",
            err=True,
        )
    config = ServeConfig(
        store_url=store_url,
        desired_dir=desired_dir,
        token=token,
        cache_ttl=cache_ttl,
        host=host,
        allowed_hosts=allowed_hosts,
    )
    app = create_app(config)
    app.state.dashboard.warm()
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"serving {display_url(store_url)} at http://{shown}:{port}/", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=log_config(),
        ws="none",
        lifespan="off",
        server_header=False,
    )
    return EXIT_OK


def log_config() -> dict[str, Any]:
    """uvicorn's logging, on stderr, with credential-like query parameters (`?token=`) of the
    access log masked."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"redact": {"()": "reconciler.web.security.RedactQuery"}}
    config["handlers"]["access"]["filters"] = ["redact"]
    config["handlers"]["access"]["stream"] = "ext://sys.stderr"
    config["handlers"]["default"]["filters"] = ["redact"]
    return config
