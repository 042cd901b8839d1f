"""Rollout plans and recorded rollouts as text or markdown; JSON is each object's `to_json()`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO

from reconciler.model import JSON
from reconciler.plan.rows import client_rows, client_title
from reconciler.render.color import enabled, paint
from reconciler.render.escape import md
from reconciler.render.plan import client_section, summary_line
from reconciler.rollout_results import RolloutList, RolloutPlan, RolloutReport, WaveStatus

_STATE_COLOR = {
    "passed": "green",
    "done": "green",
    "failed": "red",
    "reverted": "yellow",
    "paused": "yellow",
    "aborted": "yellow",
}


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def describe(config: Mapping[str, JSON]) -> str:
    """`bake 600 s; gate: 2 checks, max 0 failed; on failure revert_wave`."""
    gate = config.get("gate") or {}
    checks = len(gate.get("checks", []))
    text = f"bake {float(config.get('bake_seconds', 0)):g} s; "
    if checks:
        text += f"gate: {_n(checks, 'check')}, max {gate.get('max_failed_clients', 0)} failed"
    else:
        text += "no gate"
    return text + f"; on failure {config.get('on_failure', 'revert_wave')}"


def write_plan_text(plan: RolloutPlan, out: IO[str]) -> None:
    on = enabled(out)
    clients = sum(len(w.clients) for w in plan.waves)
    header = f"Rollout plan for {plan.store}: {_n(len(plan.waves), 'wave')}, "
    header += f"{_n(clients, 'client')} selected, {len(plan.unselected)} not selected"
    out.write(paint(header, "bold", on) + "\n")
    for wave in plan.waves:
        changed = sum(1 for c in wave.plan.clients if c.writes)
        out.write("\n" + paint(f"Wave {wave.index + 1} {wave.name}", "bold", on))
        out.write(f": {_n(len(wave.clients), 'client')}, {changed} with changes\n")
        out.write(f"  {describe(wave.config)}\n")
        for problem in wave.safety:
            out.write(paint(f"  safety: {problem.reason}", "red", on) + "\n")
        for client in wave.plan.clients:
            if not client.writes:
                continue
            out.write(f"  ~ {client_title(client)}  {client.client_id}\n")
            for row in client_rows(client):
                out.write(f"      {row.symbol} {row.subject}  {row.detail}  [{row.stores}]\n")
        planned = {p.client_id: p for p in wave.plan.clients}
        preserved = [p.client_id for p in wave.plan.clients if not p.writes]
        unchanged = [c for c in wave.clients if c not in planned]
        for label, ids in (("i preserve, not applied", preserved), ("= unchanged", unchanged)):
            if ids:
                out.write(f"  {label}: {', '.join(plan.names.get(c) or c for c in ids)}\n")
        out.write(f"  Wave plan: {summary_line(wave.plan.summary)}\n")
    if plan.unselected:
        names = ", ".join(plan.names.get(c) or c for c in plan.unselected)
        out.write(f"\nNot selected by any wave (not applied): {names}\n")


def write_plan_markdown(plan: RolloutPlan, out: IO[str]) -> None:
    out.write("### module-reconciler rollout plan\n\n")
    out.write(f"Store `{plan.store}`")
    out.write(f", commit `{plan.desired_commit[:12]}`\n\n" if plan.desired_commit else "\n\n")
    out.write("| wave | clients | with changes | bake, gate, on failure |\n|---|---:|---:|---|\n")
    for w in plan.waves:
        out.write(
            f"| {w.index + 1} {md(w.name)} | {len(w.clients)} | "
            f"{sum(1 for c in w.plan.clients if c.writes)} | {md(describe(w.config))} |\n"
        )
    if plan.unselected:
        names = ", ".join(f"`{plan.names.get(c) or c}`" for c in plan.unselected)
        out.write(f"\nNot selected by any wave (not applied): {names}\n")
    for w in plan.waves:
        out.write(f"\n#### Wave {w.index + 1}: {md(w.name)}\n\n")
        for problem in w.safety:
            out.write(f"- **safety:** {md(problem.reason)}\n")
        writing = [c for c in w.plan.clients if c.writes]
        if not writing:
            out.write("No changes.\n")
        for client in writing:
            out.write(client_section(client, []))
        planned = {c.client_id for c in w.plan.clients}
        preserved = [c.client_id for c in w.plan.clients if not c.writes]
        unchanged = [c for c in w.clients if c not in planned]
        for label, ids in (("Preserve, not applied", preserved), ("Unchanged", unchanged)):
            if ids:
                names = ", ".join(f"`{plan.names.get(c) or c}`" for c in ids)
                out.write(f"{label}: {names}\n\n")


def _wave_lines(wave: WaveStatus) -> list[tuple[str, str]]:
    runs = ""
    if wave.apply_runs:
        runs += f"; apply run(s) {', '.join(map(str, wave.apply_runs))}"
    if wave.revert_runs:
        runs += f"; revert run(s) {', '.join(map(str, wave.revert_runs))}"
    head = f"Wave {wave.index + 1} {wave.name}: {_n(len(wave.clients), 'client')}{runs}"
    lines = [(wave.state, f"  {wave.state:<9} {head}")]
    if wave.note:
        lines.append(("", f"            {wave.note}"))
    for g in wave.gate:
        if not g.ok:
            lines.append(("red", f"            x {g.client_id}  {g.check}: {g.error}"))
    return lines


def write_report_text(report: RolloutReport, out: IO[str]) -> None:
    on = enabled(out)
    head = f"Rollout {report.id}: {report.state}"
    out.write(paint(head, _STATE_COLOR.get(report.state, "bold"), on))
    out.write(f"  (started {report.created_at:%Y-%m-%d %H:%M:%S} by {report.actor})\n")
    if report.message and report.state not in ("failed", "paused"):  # else the wave says it
        out.write(f"  {report.message}\n")
    for wave in report.waves:
        for kind, line in _wave_lines(wave):
            color = _STATE_COLOR.get(kind, kind)
            out.write((paint(line, color, on) if color else line) + "\n")
    if report.unselected:
        out.write(f"  not selected by any wave: {_n(len(report.unselected), 'client')}\n")


def write_report_markdown(report: RolloutReport, out: IO[str]) -> None:
    out.write(f"### Rollout {report.id}: {report.state}\n\n")
    if report.message:
        out.write(f"{md(report.message)}\n\n")
    out.write("| wave | state | clients | apply runs | revert runs | note |\n")
    out.write("|---|---|---:|---|---|---|\n")
    for w in report.waves:
        out.write(
            f"| {w.index + 1} {md(w.name)} | {w.state} | {len(w.clients)} | "
            f"{', '.join(map(str, w.apply_runs))} | {', '.join(map(str, w.revert_runs))} | "
            f"{md(w.note)} |\n"
        )
    failures = [g for w in report.waves for g in w.gate if not g.ok]
    if failures:
        out.write("\n| wave | client | check | error |\n|---|---|---|---|\n")
        for g in failures:
            out.write(f"| {g.wave + 1} | `{g.client_id}` | {md(g.check)} | {md(g.error or '')} |\n")


def write_list_text(listing: RolloutList, out: IO[str]) -> None:
    if not listing.rollouts:
        out.write("No rollouts recorded yet.\n")
        return
    out.write(f"{'ID':>4}  {'STATE':<8} {'STARTED':<20} WAVES\n")
    for r in listing.rollouts:
        waves = ", ".join(f"{w.name}={w.state}" for w in r.waves)
        out.write(f"{r.id:>4}  {r.state:<8} {r.created_at:%Y-%m-%d %H:%M:%S}  {waves}\n")


def write_list_markdown(listing: RolloutList, out: IO[str]) -> None:
    out.write("| rollout | state | started | waves |\n|---:|---|---|---|\n")
    for r in listing.rollouts:
        waves = ", ".join(f"{w.name}: {w.state}" for w in r.waves)
        out.write(f"| {r.id} | {r.state} | {r.created_at:%Y-%m-%d %H:%M:%S} | {waves} |\n")
