"""`reconciler rollout`: plan the waves; `--yes` runs them; `status`, `resume`, `abort`."""

from __future__ import annotations

import sys

import click

from reconciler import render
from reconciler.api.rollout import (
    rollout_abort,
    rollout_plan,
    rollout_resume,
    rollout_start,
    rollout_status,
)
from reconciler.cli import options
from reconciler.cli.apply import run_meta
from reconciler.errors import EXIT_ERROR, EXIT_OK, ReconcilerError
from reconciler.rollout_results import RolloutReport


def _event(text: str) -> None:
    click.echo(text, err=True)


def _check_force(force: bool, reason: str | None) -> None:
    if force and not reason:
        raise ReconcilerError(
            "--force needs --reason", hint="say why the safety thresholds are overridden"
        )


def _done(report: RolloutReport, fmt: str) -> int:
    render.write(report, fmt, sys.stdout)
    if report.state != "done":
        click.echo(f"error: rollout {report.id} {report.state}: {report.message}", err=True)
        if report.state in ("paused", "failed"):
            click.echo(f"hint: `reconciler rollout resume {report.id}` continues it", err=True)
    return EXIT_OK if report.ok else EXIT_ERROR


@click.group("rollout", invoke_without_command=True)
@options.store
@options.desired_dir
@options.ref
@options.output_format
@click.option("--yes", "-y", is_flag=True, help="Run the rollout (without it: show the plan).")
@click.option("--force", is_flag=True, help="Override safety thresholds (needs --reason).")
@click.option("--reason", default=None, help="Why (recorded with the rollout and its runs).")
@click.option("--actor", default="", help="Who runs this (recorded; default: OS user).")
@click.pass_context
def rollout_cmd(
    ctx: click.Context,
    store_url: str,
    desired_dir: str,
    ref: str | None,
    fmt: str,
    yes: bool,
    force: bool,
    reason: str | None,
    actor: str,
) -> int | None:
    """Apply the desired state in the waves of reconciler.yaml `rollout:`: each wave is a run,
    baked, then health-gated; a failing gate reverts the wave (or all, or pauses).

    Without --yes, show each wave's clients and changes (--format markdown for a PR).
    """
    if ctx.invoked_subcommand is not None:
        return None
    _check_force(force, reason)
    if not yes:
        plan = rollout_plan(store_url, desired_dir, ref=ref)
        render.write(plan, fmt, sys.stdout)
        return EXIT_OK
    report = rollout_start(
        store_url,
        desired_dir,
        ref=ref,
        force=force,
        meta=run_meta(actor, reason),
        on_event=_event,
    )
    return _done(report, fmt)


@rollout_cmd.command("status")
@click.argument("rollout_id", type=int, required=False)
@options.store
@options.output_format
def status_cmd(rollout_id: int | None, store_url: str, fmt: str) -> int:
    """Show a rollout (waves, runs, gate results), or the recent rollouts."""
    render.write(rollout_status(store_url, rollout_id), fmt, sys.stdout)
    return EXIT_OK


@rollout_cmd.command("resume")
@click.argument("rollout_id", type=int)
@options.store
@options.desired_dir
@options.ref
@options.output_format
@click.option("--force", is_flag=True, help="Override safety thresholds (needs --reason).")
@click.option("--reason", default=None, help="Why (recorded with the runs).")
@click.option("--actor", default="", help="Who runs this (recorded; default: OS user).")
def resume_cmd(
    rollout_id: int,
    store_url: str,
    desired_dir: str,
    ref: str | None,
    fmt: str,
    force: bool,
    reason: str | None,
    actor: str,
) -> int:
    """Continue a paused, failed or interrupted rollout where it stopped."""
    _check_force(force, reason)
    report = rollout_resume(
        store_url,
        rollout_id,
        desired_dir,
        ref=ref,
        force=force,
        meta=run_meta(actor, reason),
        on_event=_event,
    )
    return _done(report, fmt)


@rollout_cmd.command("abort")
@click.argument("rollout_id", type=int)
@options.store
@options.output_format
@click.option("--revert", "revert_applied", is_flag=True, help="Revert applied waves first.")
@click.option("--reason", default=None, help="Why (recorded with any revert runs).")
@click.option("--actor", default="", help="Who runs this (recorded; default: OS user).")
def abort_cmd(
    rollout_id: int,
    store_url: str,
    fmt: str,
    revert_applied: bool,
    reason: str | None,
    actor: str,
) -> int:
    """End an unfinished rollout; no further wave is applied."""
    report = rollout_abort(
        store_url,
        rollout_id,
        revert_applied=revert_applied,
        meta=run_meta(actor, reason),
        on_event=_event,
    )
    render.write(report, fmt, sys.stdout)
    return EXIT_OK
