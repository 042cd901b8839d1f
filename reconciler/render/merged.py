"""A fleet's result merged from its shards (`merge-results`): laid out as the unsharded result
is, plus one line saying how many shards it came from; JSON is `MergedResults.to_json()`."""

from __future__ import annotations

from typing import IO

from reconciler.plan.drift import DriftReport
from reconciler.plan.merge import MergedResults
from reconciler.plan.model import Plan
from reconciler.render import drift, plan, runs
from reconciler.render.color import enabled, paint
from reconciler.results import ApplyReport


def _origin(merged: MergedResults) -> str:
    text = f"Merged from {merged.shards} shard result{'' if merged.shards == 1 else 's'}"
    if merged.run_ids:
        text += f" (runs {', '.join(str(r) for r in merged.run_ids)})"
    return text + "."


def write_text(merged: MergedResults, out: IO[str]) -> None:
    result = merged.result
    if isinstance(result, Plan):
        plan.write_text(result, out)
    elif isinstance(result, DriftReport):
        drift.write_text(result, out)
    else:
        _apply_text(result, merged, out)
    out.write(_origin(merged) + "\n")


def write_markdown(merged: MergedResults, out: IO[str]) -> None:
    result = merged.result
    if isinstance(result, Plan):
        plan.write_markdown(result, out)
    elif isinstance(result, DriftReport):
        drift.write_markdown(result, out)
    else:
        _apply_markdown(result, merged, out)
    out.write(f"\n_{_origin(merged)}_\n")


def _apply_text(report: ApplyReport, merged: MergedResults, out: IO[str]) -> None:
    """As an apply report, with one run per shard that wrote."""
    if not merged.run_ids:
        runs.write_report_text(report, out)
        return
    on = enabled(out)
    for result in report.results:
        if result.outcome == "unchanged":
            continue
        line = f"{result.outcome:<9} {result.client_id}"
        if result.message:
            line += f"  {result.message}"
        out.write(paint(line, runs.OUTCOME_COLOR[result.outcome], on) + "\n")
    c = report.counts
    summary = (
        f"{report.kind.capitalize()} ({len(merged.run_ids)} runs): {c['applied']} applied, "
        f"{c['unchanged']} unchanged, {c['stale']} refused as stale, {c['failed']} failed"
    )
    out.write(paint(summary, "bold", on) + "\n")


def _apply_markdown(report: ApplyReport, merged: MergedResults, out: IO[str]) -> None:
    c = report.counts
    runs_text = ", ".join(str(r) for r in merged.run_ids) or "none (nothing to apply)"
    out.write(f"### {report.kind} runs {runs_text}\n\n| outcome | clients |\n|---|---:|\n")
    for key in ("applied", "unchanged", "stale", "failed"):
        out.write(f"| {key} | {c[key]} |\n")
    problems = [r for r in report.results if r.outcome in ("stale", "failed")]
    if problems:
        out.write("\n| client | outcome | message |\n|---|---|---|\n")
        for r in problems:
            out.write(f"| `{r.client_id}` | {r.outcome} | {r.message.replace('|', '/')} |\n")
