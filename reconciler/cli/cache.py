"""`reconciler cache stats|clear`: the desired-state cache (issue 15)."""

from __future__ import annotations

import json

import click

from reconciler.cli import options
from reconciler.desired.cache import cache_stats, clear_cache


@click.group("cache")
def cache_cmd() -> None:
    """The desired-state cache: each client file's validated and resolved state, keyed by the
    file's content (its git blob id) and by everything it depends on (reconciler.yaml, the
    module definitions, the profiles it uses, this version's code and schemas). A warm run
    reads only files that changed; the cache never answers for other inputs.

    On PostgreSQL, `plan` and `drift` also remember the clients they found unchanged (for
    drift, each client's classes unless drifted), keyed by the client's cache key and an md5
    of its live rows computed by the database (and for drift its last run): while neither
    changes, the next run skips reading and diffing them. Clients with resolved secret
    references are remembered only when every value comes from a file (keyed by its stamp).

    It lives in `.reconciler-cache/` beside the desired-state directory (git ignores it), or
    in RECONCILER_CACHE_DIR; if neither can be written, under $XDG_CACHE_HOME. A damaged or
    foreign cache file is ignored and rebuilt with one warning. Bypass it for one run with
    `--no-cache` (or RECONCILER_NO_CACHE=1).
    """


@cache_cmd.command("stats")
@options.desired_dir
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def stats_cmd(desired_dir: str, fmt: str) -> int:
    """Where the cache of a desired-state directory is, its size and what it holds."""
    stats = cache_stats(desired_dir)
    if fmt == "json":
        click.echo(json.dumps({"format_version": 1, **stats}, indent=2, sort_keys=True))
        return 0
    if not stats["exists"]:
        click.echo(f"no cache at {stats['path']}")
        return 0
    click.echo(
        f"cache {stats['path']}: {stats['bytes']:,} bytes; {stats['entries']:,} client file "
        f"outcomes, {stats['stamps']:,} file stamps, {stats['verdicts']:,} fleet verdicts, "
        f"{stats['snapshots']:,} fleet listings, "
        f"{stats['insync']:,} clients remembered unchanged"
    )
    return 0


@cache_cmd.command("clear")
@options.desired_dir
def clear_cmd(desired_dir: str) -> int:
    """Delete the cache of a desired-state directory (the next run rebuilds it)."""
    path, existed = clear_cache(desired_dir)
    click.echo(f"removed {path}" if existed else f"no cache at {path}")
    return 0
