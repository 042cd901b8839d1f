"""Options shared by several verbs, so each reads the same way everywhere."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import click

from reconciler.model import DEFAULT_STORE
from reconciler.plan.select import resolve_shard
from reconciler.render import CI_FORMATS, FORMATS

F = TypeVar("F", bound=Callable[..., Any])


def store(f: F) -> F:
    return click.option(
        "--store",
        "store_url",
        envvar="RECONCILER_STORE",
        default=DEFAULT_STORE,
        show_default=True,
        metavar="URL",
        help="SQLAlchemy URL of the live stores (env RECONCILER_STORE); "
        "e.g. postgresql+psycopg://user@host/db.",
    )(f)


def _no_cache(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """Set for every run (not only with the flag), so one in-process run's --no-cache never
    carries over to the next."""
    from reconciler.desired.cache import configure, env_config

    env = env_config()
    configure(enabled=env.enabled and not value, directory=env.directory)


def desired_dir(f: F) -> F:
    """--dir, and --no-cache (the desired-state cache, issue 15: `reconciler cache --help`)."""
    with_cache = click.option(
        "--no-cache",
        is_flag=True,
        expose_value=False,
        callback=_no_cache,
        help="Read and resolve every desired-state file, ignoring the cache of earlier runs "
        "(env RECONCILER_NO_CACHE=1; see `reconciler cache`).",
    )(f)
    return click.option(
        "--dir",
        "desired_dir",
        envvar="RECONCILER_DIR",
        default="desired-state",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Desired-state directory (env RECONCILER_DIR).",
    )(with_cache)


def ref(f: F) -> F:
    return click.option(
        "--ref",
        default=None,
        metavar="REV",
        help="Read desired state from this git revision, without checking it out.",
    )(f)


def output_format(f: F) -> F:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="text",
        show_default=True,
        help="Output format; json is stable and carries format_version.",
    )(f)


def _auto_format(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
    """No --format: github annotations inside GitHub Actions (as yamllint does), else text."""
    if value is not None:
        return value
    return "github" if os.environ.get("GITHUB_ACTIONS") == "true" else "text"


def ci_output_format(f: F) -> F:
    """--format for the results CI reads (validate, plan): also github, sarif and junit."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(CI_FORMATS),
        default=None,
        callback=_auto_format,
        show_default="text; github when GITHUB_ACTIONS=true",
        help="Output format: json is stable and carries format_version; github prints "
        "workflow-command annotations, sarif is SARIF 2.1.0 for code scanning, junit is "
        "JUnit XML for test reports.",
    )(f)


def shard(f: F) -> F:
    """--shard K/N or auto, and --shards N; the command receives `shard` as `K/N` or None."""

    @functools.wraps(f)
    def resolved(*args: Any, **kwargs: Any) -> Any:
        shards = kwargs.pop("shards", None)
        kwargs["shard"] = resolve_shard(kwargs.get("shard"), shards=shards, environ=os.environ)
        return f(*args, **kwargs)

    with_count = click.option(
        "--shards",
        type=click.IntRange(1),
        default=None,
        metavar="N",
        help="Shard count for --shard auto (default: env RECONCILER_SHARDS).",
    )(resolved)
    return cast(
        F,
        click.option(
            "--shard",
            default=None,
            metavar="K/N|auto",
            help="Only clients in shard K of N (1-based, stable hash of client_id). `auto`: K "
            "from JOB_COMPLETION_INDEX (Kubernetes Indexed Job, 0-based), N from --shards or "
            "RECONCILER_SHARDS.",
        )(with_count),
    )


def client_ids(f: F) -> F:
    return click.option(
        "--client",
        "client_ids",
        multiple=True,
        metavar="ID",
        help="Only this client (repeatable).",
    )(f)


def jobs(f: F) -> F:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(1),
        default=None,
        envvar="RECONCILER_JOBS",
        metavar="N",
        help="Worker processes that parse, resolve and plan batches of a large tree "
        "(5,000+ client files; env RECONCILER_JOBS). Default 1: no pool.",
    )(f)


def results_file(f: F) -> F:
    return click.option(
        "--results",
        "results_file",
        type=click.Path(dir_okay=False),
        default=None,
        metavar="FILE",
        help="Also write this run's JSON result with its shard, desired commit and store, "
        "for `reconciler merge-results`.",
    )(f)


def selection(f: F) -> F:
    """Which desired state and which of its clients: --dir, --ref, --client, --shard, --jobs."""
    return desired_dir(ref(client_ids(shard(jobs(f)))))


def adopt_only(f: F) -> F:
    return click.option(
        "--adopt-only",
        is_flag=True,
        help="Only adopt into the registry the modules that only the legacy list enables, "
        "and rename legacy entries of replaced ids (`replaces`) in place (no enable, "
        "disable, update or other legacy write): unify the stores first, with no "
        "behaviour change.",
    )(f)
