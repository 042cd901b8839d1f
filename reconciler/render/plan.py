"""A plan as text (terminal) or markdown (PR comment); JSON is `Plan.to_json()` (SPEC §7)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import IO

from reconciler import jsontext
from reconciler.plan.model import ClientPlan, Plan, Summary
from reconciler.plan.preview import PlanPreview
from reconciler.plan.rows import client_rows, client_title
from reconciler.plan.violation import Violation
from reconciler.render.color import enabled, paint
from reconciler.render.escape import html, md, md_code, term

MARKDOWN_LIMIT = 65_000  # GitHub rejects comments over 65,536 characters
_ROW_COLOR = {
    "+": "green",
    "-": "red",
    "~": "yellow",
    "i": "cyan",
    "=": "dim",
    "!": "red",
    "?": "yellow",
}


def by_client(plan: Plan) -> dict[str, list[Violation]]:
    """Policy violations per client id (issue 16)."""
    found: dict[str, list[Violation]] = {}
    for v in plan.violations:
        found.setdefault(v.client_id, []).append(v)
    return found


def policy_line(plan: Plan) -> str:
    """`Policies: 1 change denied, 2 warnings` ("" when no rule is broken)."""
    if not plan.violations:
        return ""
    denied = sum(v.effect == "deny" for v in plan.violations)
    warned = len(plan.violations) - denied
    text = f"Policies: {_n(denied, 'change')} denied, {_n(warned, 'warning')}"
    if denied:
        text += " (apply refuses the run unless --force --reason)"
    return text


def _violation_text(v: Violation) -> str:
    return f"    {v.effect.upper()} {v.policy}: {v.message}  [{v.change.strip()}]  ({v.location})"


def _n(count: int, noun: str, plural: str = "") -> str:
    return f"{count} " + (noun if count == 1 else plural or f"{noun}s")


def summary_line(summary: Summary) -> str:
    changed = _n(summary.clients_changed, "client")
    text = (
        f"{changed} to change, {summary.clients_unchanged} unchanged: "
        f"{_n(summary.enabled, 'module')} to enable, {summary.disabled} to disable, "
        f"{summary.updated} to update, {_n(summary.overrides, 'override path')}"
    )
    if summary.adopted:
        text += f"; {_n(summary.adopted, 'module')} to adopt, no behaviour change"
    if summary.renamed:
        text += f"; {_n(summary.renamed, 'legacy entry', 'legacy entries')} to rename"
    if summary.informational:
        text += f"; {summary.informational} informational (preserve)"
    return text


Line = tuple[str, str, str]  # (kind, painted part, plain part)


def text_lines(plan: Plan, preview: PlanPreview | None = None) -> list[Line]:
    """The text layout as (kind, painted, plain) parts: kind is a row symbol (+ - ~ i), "bold"
    for headings, or "" for plain lines. The terminal paints by it; the dashboard styles by
    it (no re-parsing of rendered text). With `preview`, `plan` holds its first clients: the
    rest are counted, and the summary is the whole plan's."""
    header = f"Plan for {plan.store}"
    if plan.desired_commit:
        header += f" (desired state at {plan.desired_commit[:12]})"
    lines: list[Line] = [("bold", header, "")]
    if plan.changed_since is not None:
        lines += [("", line, "") for line in plan.changed_since.lines()]
    violations = by_client(plan)
    for client in plan.clients:
        where = f"  {client.client_id}  ({client.file or 'no file'}, strategy {client.strategy})"
        lines += [("", "", ""), ("bold", f"~ {client_title(client)}", where)]
        rows = client_rows(client)
        width = max((len(r.subject) for r in rows), default=0)
        for row in rows:
            text = f"    {row.symbol} {row.subject.ljust(width)}  {row.detail}  [{row.stores}]"
            lines.append((row.symbol, text, ""))
        for v in violations.get(client.client_id, []):
            lines.append(("!" if v.effect == "deny" else "?", _violation_text(v), ""))
    if preview is not None and preview.hidden:
        more = (
            f"... and {preview.hidden:,} more clients with changes, not shown (a plan of more "
            f"than {preview.limit:,} clients is shortened here; `reconciler plan` shows all)"
        )
        lines += [("", "", ""), ("", more, "")]
    if not plan.clients:
        lines += [("", "", ""), ("", "No changes. Live state matches the desired state.", "")]
    summary = plan.summary if preview is None else preview.summary
    lines += [("", "", ""), ("bold", "Plan: " + summary_line(summary), "")]
    if plan.violations:
        lines.append(("!" if plan.denied else "?", policy_line(plan), ""))
    return [(kind, term(painted), term(plain) if plain else "") for kind, painted, plain in lines]


def write_text(plan: Plan, out: IO[str], preview: PlanPreview | None = None) -> None:
    on = enabled(out)
    chunk: list[str] = []
    for kind, painted, plain in text_lines(plan, preview):
        color = _ROW_COLOR.get(kind, kind)
        chunk.append((paint(painted, color, on) if color else painted) + plain + "\n")
        if len(chunk) == 4096:  # fewer, larger writes
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))


def write_preview_text(preview: PlanPreview, out: IO[str]) -> None:
    """A plan too large to print whole, as `apply` shows it before writing (issue 15)."""
    write_text(preview.plan, out, preview)


def write_json(plan: Plan, out: IO[str]) -> None:
    """The plan's JSON (exactly `Plan.to_json()` with sorted keys), written client by client
    so a 100,000-client plan never sits in memory as one document."""
    header = plan.to_json_header()
    keys = sorted([*header, "clients"])
    out.write("{")
    for position, key in enumerate(keys):
        out.write(("," if position else "") + f"\n  {json.dumps(key)}: ")
        if key != "clients":
            out.write(jsontext.indented(header[key]).replace("\n", "\n  "))
            continue
        out.write("[")
        for index, text in enumerate(_client_items(plan.clients)):
            out.write(("," if index else "") + text)
        out.write("\n  ]" if plan.clients else "]")
    out.write("\n}\n")


# `{"clients": [client]}` indented: the client inside is indented as the document's are.
_ITEM_START = '{\n  "clients": ['
_ITEM_END = "\n  ]\n}"


def _client_items(clients: Sequence[ClientPlan]) -> Iterator[str]:
    """Each client's JSON as an item of the document's "clients" list (one at a time: what a
    client's JSON allocates is freed before the next, never promoted to the collector's
    older generations), by the fast encoder where the client's values are plain."""
    for client in clients:
        data, plain = client.json_document()
        text = jsontext.indented({"clients": [data]}, checked=plain)
        yield text[len(_ITEM_START) : -len(_ITEM_END)]


def write_markdown(plan: Plan, out: IO[str]) -> None:
    out.write(render_markdown(plan))


def write_preview_markdown(preview: PlanPreview, out: IO[str]) -> None:
    """A plan too large to show whole, as markdown: its first clients and the counts of all."""
    out.write(render_markdown(preview.plan, preview=preview))


def render_markdown(
    plan: Plan, limit: int = MARKDOWN_LIMIT, preview: PlanPreview | None = None
) -> str:
    s = plan.summary if preview is None else preview.summary
    head = [
        "### module-reconciler plan",
        "",
        f"Store {md_code(plan.store)}"
        + (f", commit {md_code(c[:12])}" if (c := plan.desired_commit) else ""),
        "",
        "| clients to change | unchanged | enable | disable | update | overrides | adopt "
        "| informational |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s.clients_changed} | {s.clients_unchanged} | {s.enabled} | {s.disabled} | {s.updated} "
        f"| {s.overrides} | {s.adopted} | {s.informational} |",
        "",
    ]
    if s.renamed:  # a line, not a column: plans without renames keep their table
        head += [f"{_n(s.renamed, 'legacy entry', 'legacy entries')} to rename.", ""]
    if plan.changed_since is not None:
        head += [f"- {md(line)}" for line in plan.changed_since.lines()] + [""]
    if plan.violations:
        head += [f"**{md(policy_line(plan))}**", ""]
    if not plan.clients:
        head.append("No changes. Live state matches the desired state.")
    text = "\n".join(head) + "\n"
    violations = by_client(plan)
    for index, client in enumerate(plan.clients):
        section = client_section(client, violations.get(client.client_id, []))
        if len(text) + len(section) > limit - 400:
            rest = len(plan.clients) - index + (preview.hidden if preview is not None else 0)
            text += (
                f"\n**{rest} more clients not shown** (comment size limit). "
                "The full plan: `reconciler plan --format json` or the `--out` file "
                "saved by CI.\n"
            )
            break
        text += section
    else:
        if preview is not None and preview.hidden:
            text += (
                f"\n**{preview.hidden:,} more clients not shown** (a plan of more than "
                f"{preview.limit:,} clients is shortened before applying). The full plan: "
                "`reconciler plan --format markdown`.\n"
            )
    return text


def client_section(client: ClientPlan, violations: list[Violation]) -> str:
    rows = client_rows(client)
    denied = sum(v.effect == "deny" for v in violations)
    flag = f" :no_entry: {denied} denied" if denied else ""
    flag += f" :warning: {len(violations) - denied} warning(s)" if len(violations) > denied else ""
    lines = [
        f"<details{' open' if violations else ''}><summary><b>{html(client_title(client))}"
        f"</b> <code>{html(client.client_id)}</code>: {len(rows)} changes ({client.strategy}){flag}"
        "</summary>",
        "",
        "| | change | detail | stores |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r.symbol} | {md_code(r.subject)} | {md(r.detail)} | {r.stores} |" for r in rows]
    if violations:
        lines += ["", "| policy | effect | change | message | rule |", "|---|---|---|---|---|"]
        lines += [
            f"| {md_code(v.policy)} | **{v.effect}** | {md_code(v.change.strip())} "
            f"| {md(v.message)} | {md_code(str(v.location))} |"
            for v in violations
        ]
    lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"
