"""Drift report as text (summary first) or markdown; JSON is `DriftReport.to_json()`."""

from __future__ import annotations

from typing import IO

from reconciler.plan.drift import LABELS, PRIORITY, DriftClass, DriftReport
from reconciler.render.color import enabled, paint
from reconciler.render.escape import md, md_code, term

_COLOR = {"drifted": "red", "pending": "yellow", "never_applied": "cyan", "in_sync": "green"}


def summary_line(report: DriftReport) -> str:
    s = report.summary()
    return (
        f"{s['clients']} clients: {s['drifted']} drifted, {s['pending']} pending, "
        f"{s['never_applied']} never applied, {s['in_sync']} in sync"
    )


def write_text(report: DriftReport, out: IO[str]) -> None:
    on = enabled(out)
    out.write(paint("Drift: " + summary_line(report), "bold", on) + "\n")
    for client in report.clients:
        if client.status is DriftClass.IN_SYNC:
            continue
        labels = ", ".join(LABELS[c] for c in PRIORITY if c in client.classes)
        line = f"  {client.name or client.client_id:<24} {client.client_id}  {labels}"
        if client.last_run is not None:
            line += f" (last run {client.last_run})"
        out.write(paint(term(line), _COLOR[client.status], on) + "\n")
        for path in client.drifted_paths:
            out.write(f"      changed outside git: {term(path)}\n")
        if client.pending_changes:
            out.write(f"      {client.pending_changes} change(s) to apply\n")


def write_markdown(report: DriftReport, out: IO[str]) -> None:
    out.write(f"### module-reconciler drift\n\n{summary_line(report)}\n\n")
    out.write(
        "| client | id | status | changed outside git | pending changes |\n|---|---|---|---|---:|\n"
    )
    for c in report.clients:
        if c.status is DriftClass.IN_SYNC:
            continue
        paths = "<br>".join(md_code(p) for p in c.drifted_paths)
        out.write(
            f"| {md(c.name)} | {md_code(c.client_id)} | {LABELS[c.status]} | {paths} "
            f"| {c.pending_changes} |\n"
        )
