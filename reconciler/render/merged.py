"""A fleet's result merged from its shards (`merge-results`): laid out as the unsharded result
is, plus one line saying how many shards it came from; JSON is `MergedResults.to_json()`."""

from __future__ import annotations

from typing import IO

from reconciler.plan.drift import DriftReport
from reconciler.plan.merge import MergedResults
from reconciler.plan.model import Plan
from reconciler.render import drift, plan, runs
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
    runs.write_report_text(report, out, runs=f"({len(merged.run_ids)} runs)")


def _apply_markdown(report: ApplyReport, merged: MergedResults, out: IO[str]) -> None:
    shown = ", ".join(str(r) for r in merged.run_ids) or "none (nothing to apply)"
    runs.write_report_markdown(report, out, runs=f"runs {shown}")
