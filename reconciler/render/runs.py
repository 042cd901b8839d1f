"""Apply/revert reports and history as text or markdown; JSON is each object's `to_json()`."""

from __future__ import annotations

from typing import IO

from reconciler.plan.diff import json_paths
from reconciler.plan.rows import show
from reconciler.render.color import enabled, paint
from reconciler.render.escape import md, md_code, term
from reconciler.results import ApplyReport, ClientSnapshot, RunDetail, RunList

OUTCOME_COLOR = {"applied": "green", "unchanged": "dim", "stale": "yellow", "failed": "red"}


def write_report_text(report: ApplyReport, out: IO[str], *, runs: str = "") -> None:
    """One line per client written or refused, then the counts; `runs` names the runs when
    the report merges several (merge-results), else it is `run N`."""
    on = enabled(out)
    if report.run_id is None and not runs:
        out.write("Nothing to apply: live state already matches.\n")
        return
    for result in report.results:
        if result.outcome == "unchanged":
            continue
        line = f"{result.outcome:<9} {result.client_id}"
        if result.message:
            line += f"  {result.message}"
        out.write(paint(term(line), OUTCOME_COLOR[result.outcome], on) + "\n")
    c = report.counts
    out.write(
        paint(
            f"{report.kind.capitalize()} {runs or f'run {report.run_id}'}: {c['applied']} applied, "
            f"{c['unchanged']} unchanged, {c['stale']} refused as stale, {c['failed']} failed",
            "bold",
            on,
        )
        + "\n"
    )


def write_report_markdown(report: ApplyReport, out: IO[str], *, runs: str = "") -> None:
    """The counts as a table, then the clients refused or failed (`runs`: as for text)."""
    c = report.counts
    title = runs or f"run {report.run_id}"
    out.write(f"### {report.kind} {title}\n\n| outcome | clients |\n|---|---:|\n")
    for key in ("applied", "unchanged", "stale", "failed"):
        out.write(f"| {key} | {c[key]} |\n")
    problems = [r for r in report.results if r.outcome in ("stale", "failed")]
    if problems:
        out.write("\n| client | outcome | message |\n|---|---|---|\n")
        for r in problems:
            out.write(f"| {md_code(r.client_id)} | {r.outcome} | {md(r.message)} |\n")


def write_history_text(listing: RunList, out: IO[str]) -> None:
    runs = listing.runs
    if not runs:
        out.write("No runs recorded yet.\n")
        return
    out.write(
        f"{'RUN':>5}  {'KIND':<7} {'STATUS':<9} {'CLIENTS':>7}  {'STARTED':<25} ACTOR / REASON\n"
    )
    for r in runs:
        why = f"{r.actor}" + (f": {r.reason}" if r.reason else "")
        if r.reverts_run is not None:
            why += f" (reverts run {r.reverts_run})"
        started = r.started_at.isoformat(timespec="seconds")
        out.write(
            f"{r.id:>5}  {r.kind:<7} {term(r.status):<9} {r.clients:>7}  {started:<25} "
            f"{term(why)}\n"
        )


def write_history_markdown(listing: RunList, out: IO[str]) -> None:
    runs = listing.runs
    out.write("| run | kind | status | clients | started | actor | reason |\n")
    out.write("|---:|---|---|---:|---|---|---|\n")
    for r in runs:
        started = r.started_at.isoformat(timespec="seconds")
        out.write(
            f"| {r.id} | {md(r.kind)} | {md(r.status)} | {r.clients} | {started} | {md(r.actor)} "
            f"| {md(r.reason or '')} |\n"
        )


def write_detail_text(detail: RunDetail, out: IO[str]) -> None:
    write_history_text(RunList(runs=(detail.run,)), out)
    if detail.run.desired_commit:
        out.write(f"desired state at {term(detail.run.desired_commit)}\n")
    for s in detail.snapshots:
        out.write(f"\n~ {term(s.client_id)}\n")
        for path, old, new in _snapshot_paths(s):
            out.write(term(f"    {'.'.join(path)}: {show(old)} -> {show(new)}") + "\n")


def write_detail_markdown(detail: RunDetail, out: IO[str]) -> None:
    write_history_markdown(RunList(runs=(detail.run,)), out)
    if detail.run.desired_commit:
        out.write(f"\ndesired state at {md_code(detail.run.desired_commit)}\n")
    for s in detail.snapshots:
        out.write(f"\n#### {md_code(s.client_id)}\n\n| path | before | after |\n|---|---|---|\n")
        for path, old, new in _snapshot_paths(s):
            cells = (".".join(path), show(old), show(new))
            out.write("| " + " | ".join(md_code(c) for c in cells) + " |\n")


def _snapshot_paths(s: ClientSnapshot) -> list[tuple[tuple[str, ...], object, object]]:
    """Every JSON path whose value the run changed; a missing legacy row reads `(no row)`."""
    before, after = s.before.to_json(), s.after.to_json()
    before["legacy"] = before["legacy"] if before["legacy"] is not None else "(no row)"
    after["legacy"] = after["legacy"] if after["legacy"] is not None else "(no row)"
    return list(json_paths(before, after))
