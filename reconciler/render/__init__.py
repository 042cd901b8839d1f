"""Output: every result type laid out as text, json or markdown on a stream (SPEC §7); the
results CI reads (validate, plan) also as github, sarif and junit (issue 16).

`write(result, fmt, out)` is the one place that chooses a layout: JSON is always the result's
own `to_json()` (a plan's is streamed client by client, byte for byte the same document), and
text and markdown come from the result type's module here. A format a result type does not
have is a clear error, never another format silently.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import IO, Any, Literal

from reconciler.errors import ReconcilerError

Format = Literal["text", "json", "markdown", "github", "sarif", "junit"]
FORMATS: tuple[Format, ...] = ("text", "json", "markdown")
# Formats for CI (issue 16), offered by the commands whose results have them: validate, plan.
CI_FORMATS: tuple[Format, ...] = (*FORMATS, "github", "sarif", "junit")
Writer = Callable[[Any, IO[str]], None]

# result type ("module:Class") -> format -> writer ("module of this package:function");
# "json" only where the JSON is streamed (a plan). Named, not imported: a command imports the
# layouts of the results it writes, nothing else (issue 15).
LAYOUTS: dict[str, dict[str, str]] = {
    "reconciler.results.validation:ValidationReport": {
        "text": "validation:write_text",
        "markdown": "validation:write_markdown",
        "github": "github:write_validation",
        "sarif": "sarif:write_validation",
        "junit": "junit:write_validation",
    },
    "reconciler.results.status:StatusReport": {
        "text": "status:write_text",
        "markdown": "status:write_markdown",
    },
    "reconciler.plan.model:Plan": {
        "text": "plan:write_text",
        "markdown": "plan:write_markdown",
        "json": "plan:write_json",
        "github": "github:write_plan",
        "sarif": "sarif:write_plan",
        "junit": "junit:write_plan",
    },
    "reconciler.plan.preview:PlanPreview": {
        "text": "plan:write_preview_text",
        "markdown": "plan:write_preview_markdown",
    },
    "reconciler.results.runs:ApplyReport": {
        "text": "runs:write_report_text",
        "markdown": "runs:write_report_markdown",
    },
    "reconciler.results.runs:RunList": {
        "text": "runs:write_history_text",
        "markdown": "runs:write_history_markdown",
    },
    "reconciler.results.runs:RunDetail": {
        "text": "runs:write_detail_text",
        "markdown": "runs:write_detail_markdown",
    },
    "reconciler.plan.drift:DriftReport": {
        "text": "drift:write_text",
        "markdown": "drift:write_markdown",
    },
    "reconciler.results.imports:ImportReport": {
        "text": "imports:write_text",
        "markdown": "imports:write_markdown",
    },
    "reconciler.plan.merge:MergedResults": {
        "text": "merged:write_text",
        "markdown": "merged:write_markdown",
    },
    "reconciler.results.explain:ExplainReport": {
        "text": "explain:write_text",
        "markdown": "explain:write_markdown",
    },
    "reconciler.rollout_results:RolloutPlan": {
        "text": "rollout:write_plan_text",
        "markdown": "rollout:write_plan_markdown",
    },
    "reconciler.rollout_results:RolloutReport": {
        "text": "rollout:write_report_text",
        "markdown": "rollout:write_report_markdown",
    },
    "reconciler.rollout_results:RolloutList": {
        "text": "rollout:write_list_text",
        "markdown": "rollout:write_list_markdown",
    },
}


def type_name(result_type: type) -> str:
    """The key of `result_type` in LAYOUTS: "module:Class"."""
    return f"{result_type.__module__}:{result_type.__qualname__}"


def writer(target: str) -> Writer:
    """The function a LAYOUTS entry names ("module:function"), its module imported now."""
    module_name = f"{__name__}.{target.split(':')[0]}"
    __import__(module_name)  # not importlib.import_module: `-X importtime` reports only this
    found: Writer = getattr(sys.modules[module_name], target.split(":")[1])
    return found


def write(result: Any, fmt: str, out: IO[str]) -> None:
    """Lay `result` out in `fmt` (text, json, markdown; github, sarif, junit for CI) on `out`."""
    layouts = LAYOUTS.get(type_name(type(result)), {})
    target = layouts.get(fmt)
    if target is not None:
        writer(target)(result, out)
    elif fmt == "json":
        from reconciler.render.jsonout import write_json  # orjson: only when JSON is written

        write_json(result.to_json(), out)
    else:
        raise ReconcilerError(
            f"{type(result).__name__} has no {fmt} output",
            hint=f"use one of: {', '.join(['json', *sorted(layouts)])}",
        )


__all__ = [
    "CI_FORMATS",
    "FORMATS",
    "LAYOUTS",
    "Format",
    "type_name",
    "write",
    "writer",
]
