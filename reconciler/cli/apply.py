"""`reconciler apply [FILE]`: make the desired state (or a saved plan) live."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from reconciler import render
from reconciler.api.apply import apply_saved
from reconciler.api.apply_stream import apply_fleet, check_fleet_policies, plan_fleet
from reconciler.api.merge import write_results
from reconciler.cli import options
from reconciler.errors import EXIT_ERROR, EXIT_OK, ReconcilerError
from reconciler.render.escape import has_control, term
from reconciler.render.progress import fleet_progress, progress
from reconciler.results import ApplyReport, RunMeta


def run_options(f: F) -> F:
    """Options every writing command shares: --force, --reason, --actor."""
    f = click.option("--actor", default="", help="Who runs this (recorded; default: OS user).")(f)
    f = click.option("--reason", default=None, help="Why (recorded in history).")(f)
    return click.option(
        "--force", is_flag=True, help="Override safety thresholds and protected modules."
    )(f)


F = TypeVar("F", bound=Callable[..., Any])


def run_meta(actor: str, reason: str | None) -> RunMeta:
    """Who runs this command line and why, as recorded with the run. A control character in
    --reason or --actor is refused: history prints them, and a newline would forge a line."""
    for option, value in (("--reason", reason), ("--actor", actor)):
        if value and has_control(value):
            raise ReconcilerError(
                f"{option} must not contain control characters (newline, ESC, tab...)",
                hint=f"give {option} as one line of plain text",
            )
    meta = RunMeta(actor=actor, reason=reason, command=" ".join(["reconciler", *sys.argv[1:]]))
    return meta.check()  # lengths the store holds, before any plan is computed


def write_report(report: ApplyReport, fmt: str) -> int:
    render.write(report, fmt, sys.stdout)
    for result in report.results:
        if result.outcome in ("stale", "failed"):
            click.echo(f"error: {term(result.message)}", err=True)
    return EXIT_OK if report.ok else EXIT_ERROR


def confirm(question: str, yes: bool) -> None:
    """Proceed with --yes; ask on a TTY; refuse otherwise (never block a CI job)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise ReconcilerError(
            "refusing to apply without confirmation", hint="pass --yes to apply non-interactively"
        )
    if not click.confirm(question, default=False, err=True):
        raise ReconcilerError("apply cancelled; nothing was written")


@click.command("apply")
@click.argument("plan_file", required=False, type=click.Path(dir_okay=False))
@options.store
@options.selection
@options.output_format
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@options.results_file
@options.adopt_only
@run_options
def apply_cmd(
    plan_file: str | None,
    store_url: str,
    desired_dir: str,
    ref: str | None,
    client_ids: tuple[str, ...],
    shard: str | None,
    jobs: int | None,
    fmt: str,
    yes: bool,
    results_file: str | None,
    adopt_only: bool,
    force: bool,
    reason: str | None,
    actor: str,
) -> int:
    """Apply changes to both stores, each client in one verified transaction, recorded as a run.

    With PLAN_FILE (from `plan --out`), apply exactly that plan; clients whose live state
    changed since are refused as stale; --client and --shard keep only some of its clients
    (e.g. `apply plan.json --shard auto` in each pod of a Kubernetes Indexed Job).
    Without it, plan now, show it, and ask (or --yes). The fleet is planned and then
    written batch by batch, its work spooled in between to an encrypted temporary file
    ($TMPDIR), so memory does not grow with the fleet. A plan of more than 1,000 clients is
    shown shortened (its first 20 clients and the counts of all); `reconciler plan` shows it
    whole.
    """
    meta = run_meta(actor, reason)

    def finish(report: ApplyReport) -> int:
        """The report on stdout, and with --results in that file too."""
        code = write_report(report, fmt)
        if results_file:
            write_results(results_file, report, shard=shard, store_url=store_url)
        return code

    if plan_file:
        with progress(0, "apply") as tick:
            report = apply_saved(
                store_url,
                plan_file,
                desired_dir,
                ref=ref,
                client_ids=client_ids,
                shard=shard,
                force=force,
                meta=meta,
                on_done=tick,
            )
        return finish(report)
    with fleet_progress("plan") as on_progress:
        planned = plan_fleet(
            store_url,
            desired_dir,
            ref=ref,
            client_ids=client_ids,
            shard=shard,
            jobs=jobs,
            on_progress=on_progress,
            adopt_only=adopt_only,
        )
    with planned:
        render.write(planned.preview, "text", sys.stderr)
        if not planned.writes:
            nothing = ApplyReport(
                kind="apply", run_id=None, desired_commit=planned.shown.desired_commit
            )
            return finish(nothing)
        check_fleet_policies(planned, force=force, reason=reason)  # refuse before asking
        confirm(f"Apply these changes to {planned.summary.clients_changed} clients?", yes)
        with progress(planned.summary.clients_changed, "apply") as tick:
            report = apply_fleet(store_url, planned, force=force, meta=meta, on_done=tick)
    return finish(report)
