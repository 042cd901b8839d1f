"""Apply/revert reports and history as text or markdown; JSON is each object's `to_json()`."""

from __future__ import annotations

from typing import IO

from reconciler.apply.history import RunDetail, RunInfo
from reconciler.apply.runner import ApplyReport
from reconciler.model import JSON, ClientLive
from reconciler.plan.diff import json_paths
from reconciler.render.color import enabled, paint
from reconciler.render.view import show

HISTORY_FORMAT_VERSION = 1
_OUTCOME_COLOR = {"applied": "green", "unchanged": "dim", "stale": "yellow", "failed": "red"}


def write_report_text(report: ApplyReport, out: IO[str]) -> None:
    on = enabled(out)
    if report.run_id is None:
        out.write("Nothing to apply: live state already matches.\n")
        return
    for result in report.results:
        if result.outcome == "unchanged":
            continue
        line = f"{result.outcome:<9} {result.client_id}"
        if result.message:
            line += f"  {result.message}"
        out.write(paint(line, _OUTCOME_COLOR[result.outcome], on) + "\n")
    c = report.counts
    out.write(
        paint(
            f"{report.kind.capitalize()} run {report.run_id}: {c['applied']} applied, "
            f"{c['unchanged']} unchanged, {c['stale']} refused as stale, {c['failed']} failed",
            "bold",
            on,
        )
        + "\n"
    )


def write_report_markdown(report: ApplyReport, out: IO[str]) -> None:
    c = report.counts
    out.write(f"### {report.kind} run {report.run_id}\n\n| outcome | clients |\n|---|---:|\n")
    for key in ("applied", "unchanged", "stale", "failed"):
        out.write(f"| {key} | {c[key]} |\n")
    problems = [r for r in report.results if r.outcome in ("stale", "failed")]
    if problems:
        out.write("\n| client | outcome | message |\n|---|---|---|\n")
        for r in problems:
            out.write(f"| `{r.client_id}` | {r.outcome} | {r.message.replace('|', '/')} |\n")


def history_json(runs: list[RunInfo]) -> JSON:
    return {"format_version": HISTORY_FORMAT_VERSION, "runs": [r.to_json() for r in runs]}


def write_history_text(runs: list[RunInfo], out: IO[str]) -> None:
    if not runs:
        out.write("No runs recorded yet.\n")
        return
    out.write(
        f"{'RUN':>5}  {'KIND':<7} {'STATUS':<8} {'CLIENTS':>7}  {'STARTED':<25} ACTOR / REASON\n"
    )
    for r in runs:
        why = f"{r.actor}" + (f": {r.reason}" if r.reason else "")
        if r.reverts_run is not None:
            why += f" (reverts run {r.reverts_run})"
        started = r.started_at.isoformat(timespec="seconds")
        out.write(f"{r.id:>5}  {r.kind:<7} {r.status:<8} {r.clients:>7}  {started:<25} {why}\n")


def write_history_markdown(runs: list[RunInfo], out: IO[str]) -> None:
    out.write("| run | kind | status | clients | started | actor | reason |\n")
    out.write("|---:|---|---|---:|---|---|---|\n")
    for r in runs:
        started = r.started_at.isoformat(timespec="seconds")
        reason = (r.reason or "").replace("|", "/")
        out.write(
            f"| {r.id} | {r.kind} | {r.status} | {r.clients} | {started} | {r.actor} | {reason} |\n"
        )


def detail_json(detail: RunDetail, mask: Masker) -> JSON:
    return {
        "format_version": HISTORY_FORMAT_VERSION,
        "run": detail.run.to_json(),
        "clients": [
            {
                "client_id": s.client_id,
                "committed_at": s.committed_at.isoformat(),
                "before": mask(s.before).to_json(),
                "after": mask(s.after).to_json(),
            }
            for s in detail.snapshots
        ],
    }


def write_detail_text(detail: RunDetail, mask: Masker, out: IO[str]) -> None:
    write_history_text([detail.run], out)
    if detail.run.desired_commit:
        out.write(f"desired state at {detail.run.desired_commit}\n")
    for s in detail.snapshots:
        out.write(f"\n~ {s.client_id}\n")
        before, after = mask(s.before).to_json(), mask(s.after).to_json()
        before["legacy"] = before["legacy"] if before["legacy"] is not None else "(no row)"
        after["legacy"] = after["legacy"] if after["legacy"] is not None else "(no row)"
        for path, old, new in json_paths(before, after):
            out.write(f"    {'.'.join(path)}: {show(old)} -> {show(new)}\n")


class Masker:
    """Replaces sensitive settings in a snapshot with `(sensitive)` before it is shown."""

    def __init__(self, sensitive: dict[str, frozenset[tuple[str, ...]]]) -> None:
        self.sensitive = sensitive

    def __call__(self, live: ClientLive) -> ClientLive:
        from reconciler.model import RegistryModule
        from reconciler.plan.mask import mask_secret_like, mask_settings

        registry = {
            m: RegistryModule(
                enabled=row.enabled,
                version=row.version,
                # A module no catalog knows: mask secret-like keys, as status does (SPEC §4).
                settings=mask_settings(row.settings, self.sensitive[m])
                if m in self.sensitive
                else mask_secret_like(row.settings),
            )
            for m, row in live.registry.items()
        }
        return ClientLive(client_id=live.client_id, legacy=live.legacy, registry=registry)
