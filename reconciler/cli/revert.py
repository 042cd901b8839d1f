"""`reconciler revert RUN`: restore the before-state of a recorded run."""

from __future__ import annotations

import click

from reconciler.api.history import history_show
from reconciler.api.revert import revert
from reconciler.cli import options
from reconciler.cli.apply import confirm, run_meta, run_options, write_report
from reconciler.render.progress import progress


@click.command("revert")
@click.argument("run_id", type=int)
@options.store
@options.client_ids
@options.output_format
@click.option("--yes", "-y", is_flag=True, help="Revert without asking.")
@run_options
def revert_cmd(
    run_id: int,
    store_url: str,
    client_ids: tuple[str, ...],
    fmt: str,
    yes: bool,
    force: bool,
    reason: str | None,
    actor: str,
) -> int:
    """Restore each client of RUN to its recorded before-state (a missing legacy row is
    deleted again). Clients changed since RUN are refused unless --force. The revert is a run
    of its own, so it can be reverted too.
    """
    detail = history_show(store_url, run_id, client_ids=client_ids)
    confirm(f"Revert run {run_id} for {len(detail.snapshots)} client(s)?", yes)
    meta = run_meta(actor, reason)
    with progress(len(detail.snapshots), "revert") as tick:
        report = revert(
            store_url, run_id, client_ids=client_ids, force=force, meta=meta, on_done=tick
        )
    return write_report(report, fmt)
