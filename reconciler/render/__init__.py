"""Output: every result type laid out as text, json or markdown on a stream (SPEC §7); the
results CI reads (validate, plan) also as github, sarif and junit (issue 16).

`write(result, fmt, out)` is the one place that chooses a layout: JSON is always the result's
own `to_json()` (a plan's is streamed client by client, byte for byte the same document), and
text and markdown come from the result type's module here. A format a result type does not
have is a clear error, never another format silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, Literal

from reconciler.errors import ReconcilerError
from reconciler.plan.drift import DriftReport
from reconciler.plan.merge import MergedResults
from reconciler.plan.model import Plan
from reconciler.plan.preview import PlanPreview
from reconciler.render import (
    drift,
    explain,
    github,
    imports,
    junit,
    merged,
    plan,
    rollout,
    runs,
    sarif,
    status,
    validation,
)
from reconciler.render.jsonout import write_json
from reconciler.results import (
    ApplyReport,
    ExplainReport,
    ImportReport,
    RunDetail,
    RunList,
    StatusReport,
    ValidationReport,
)
from reconciler.rollout_results import RolloutList, RolloutPlan, RolloutReport

Format = Literal["text", "json", "markdown", "github", "sarif", "junit"]
FORMATS: tuple[Format, ...] = ("text", "json", "markdown")
# Formats for CI (issue 16), offered by the commands whose results have them: validate, plan.
CI_FORMATS: tuple[Format, ...] = (*FORMATS, "github", "sarif", "junit")
Writer = Callable[[Any, IO[str]], None]

# result type -> format -> writer; "json" only where the JSON is streamed (a plan).
LAYOUTS: dict[type, dict[str, Writer]] = {
    ValidationReport: {
        "text": validation.write_text,
        "markdown": validation.write_markdown,
        "github": github.write_validation,
        "sarif": sarif.write_validation,
        "junit": junit.write_validation,
    },
    StatusReport: {"text": status.write_text, "markdown": status.write_markdown},
    Plan: {
        "text": plan.write_text,
        "markdown": plan.write_markdown,
        "json": plan.write_json,
        "github": github.write_plan,
        "sarif": sarif.write_plan,
        "junit": junit.write_plan,
    },
    PlanPreview: {"text": plan.write_preview_text, "markdown": plan.write_preview_markdown},
    ApplyReport: {"text": runs.write_report_text, "markdown": runs.write_report_markdown},
    RunList: {"text": runs.write_history_text, "markdown": runs.write_history_markdown},
    RunDetail: {"text": runs.write_detail_text, "markdown": runs.write_detail_markdown},
    DriftReport: {"text": drift.write_text, "markdown": drift.write_markdown},
    ImportReport: {"text": imports.write_text, "markdown": imports.write_markdown},
    MergedResults: {"text": merged.write_text, "markdown": merged.write_markdown},
    ExplainReport: {"text": explain.write_text, "markdown": explain.write_markdown},
    RolloutPlan: {"text": rollout.write_plan_text, "markdown": rollout.write_plan_markdown},
    RolloutReport: {"text": rollout.write_report_text, "markdown": rollout.write_report_markdown},
    RolloutList: {"text": rollout.write_list_text, "markdown": rollout.write_list_markdown},
}


def write(result: Any, fmt: str, out: IO[str]) -> None:
    """Lay `result` out in `fmt` (text, json, markdown; github, sarif, junit for CI) on `out`."""
    layouts = LAYOUTS.get(type(result), {})
    writer = layouts.get(fmt)
    if writer is not None:
        writer(result, out)
    elif fmt == "json":
        write_json(result.to_json(), out)
    else:
        raise ReconcilerError(
            f"{type(result).__name__} has no {fmt} output",
            hint=f"use one of: {', '.join(['json', *sorted(layouts)])}",
        )


__all__ = ["CI_FORMATS", "FORMATS", "LAYOUTS", "Format", "write", "write_json"]
