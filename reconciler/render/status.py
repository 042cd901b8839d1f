"""`status` as text, json or markdown: the fleet one line per client, or clients in detail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import IO

from reconciler.model import UnifiedModule, canonical_json
from reconciler.render.color import enabled, paint
from reconciler.render.escape import md, md_code, term
from reconciler.results import ClientStatus, StatusReport

_SOURCE_COLOR = {"legacy": "yellow", "registry": "cyan", "unified": "green"}


def write_text(report: StatusReport, out: IO[str]) -> None:
    out.write(status_text(report, color=enabled(out)))


def write_markdown(report: StatusReport, out: IO[str]) -> None:
    out.write(status_markdown(report))


def sources_summary(client: ClientStatus) -> str:
    """`legacy 2, unified 3`: non-zero source counts, or `-` when the client has no modules."""
    parts = [f"{k} {n}" for k, n in client.sources().items() if n]
    return ", ".join(parts) or "-"


def legacy_summary(client: ClientStatus) -> str:
    """What the legacy row says: no row (defaults), `[]`, or how many modules it lists."""
    if client.legacy_modules is None:
        return "no row (defaults)"
    if not client.legacy_modules:
        return "[] (no modules)"
    count = len(client.legacy_modules)
    return f"{count} module{'s' if count != 1 else ''}"


def legacy_detail(client: ClientStatus, legacy_defaults: Sequence[str]) -> str:
    """The legacy row in full: none (which defaults apply), `[]`, or the listed modules."""
    if client.legacy_modules is None:
        defaults = ", ".join(legacy_defaults) or "none"
        return f"none, so the legacy defaults apply ({defaults})"
    if not client.legacy_modules:
        return "modules_enabled = [] (no modules)"
    return f"modules_enabled = [{', '.join(client.legacy_modules)}]"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """Rows padded to column widths (the last column is not padded)."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        [cell.ljust(widths[i]) if i < len(header) - 1 else cell for i, cell in enumerate(row)]
        for row in [header, *rows]
    ]


def _fleet_rows(report: StatusReport) -> list[list[str]]:
    return [
        [
            term(c.client_id),
            term(c.name or "-"),
            str(c.enabled_count),
            term(legacy_summary(c)),
            sources_summary(c),
            str(c.conflict_count),
        ]
        for c in report.clients
    ]


_FLEET_HEADER = ("CLIENT", "NAME", "ENABLED", "LEGACY ROW", "SOURCES", "CONFLICTS")
_MODULE_HEADER = ("MODULE", "ENABLED", "VERSION", "SOURCE", "SETTINGS")


def _module_row(m: UnifiedModule) -> list[str]:
    source = m.source + (" (conflict)" if m.conflicts else "")
    settings = canonical_json(m.settings) if m.settings else "-"
    cells = [m.id, "yes" if m.enabled else "no", m.version or "-", source, settings]
    return [term(cell) for cell in cells]


def status_text(report: StatusReport, *, color: bool = False) -> str:
    """Plain text; colour only when asked (render/color.py decides)."""
    lines = [f"store: {term(report.store)}"]
    if not report.detailed:
        lines.append(term(f"legacy defaults: {', '.join(report.legacy_defaults) or '(none)'}"))
        if not report.clients:
            lines.append("no clients with live state")
            return "\n".join(lines) + "\n"
        table = _table(_FLEET_HEADER, _fleet_rows(report))
        lines.append(paint("  ".join(table[0]).rstrip(), "bold", color))
        for cells, client in zip(table[1:], report.clients, strict=True):
            line = "  ".join(cells).rstrip()
            lines.append(paint(line, "yellow", color) if client.conflict_count else line)
        lines.append(f"{len(report.clients)} client{'s' if len(report.clients) != 1 else ''}")
        return "\n".join(lines) + "\n"
    for client in report.clients:
        lines.append("")
        title = f"client {client.client_id}" + (f" ({client.name})" if client.name else "")
        lines.append(paint(term(title), "bold", color))
        lines.append(term(f"legacy row: {legacy_detail(client, report.legacy_defaults)}"))
        if client.modules:
            table = _table(_MODULE_HEADER, [_module_row(m) for m in client.modules])
            lines.append(paint("  ".join(table[0]).rstrip(), "bold", color))
            for cells, module in zip(table[1:], client.modules, strict=True):
                tint = "red" if module.conflicts else _SOURCE_COLOR[module.source]
                cells[3] = paint(cells[3], tint, color)
                lines.append("  ".join(cells).rstrip())
        else:
            lines.append("no modules")
        for key, value in client.overrides.items():
            if value in (None, {}):
                continue
            lines.append(term(f"override {key}: {canonical_json(value)}"))
    return "\n".join(lines) + "\n"


def status_markdown(report: StatusReport) -> str:
    """GitHub-flavoured markdown (PR comments, wikis)."""
    out = [f"**Store:** {md_code(report.store)}", ""]
    if not report.detailed:
        out += [
            "| Client | Name | Enabled | Legacy row | Sources | Conflicts |",
            "|---|---|---:|---|---|---:|",
        ]
        out += [
            f"| {md_code(c.client_id)} | {md(c.name or '-')} | {c.enabled_count} "
            f"| {md(legacy_summary(c))} | {sources_summary(c)} | {c.conflict_count} |"
            for c in report.clients
        ]
        return "\n".join(out) + "\n"
    for client in report.clients:
        name = f"{md(client.name)} " if client.name else ""
        out.append(f"### {name}{md_code(client.client_id)}")
        out += ["", f"Legacy row: {md(legacy_detail(client, report.legacy_defaults))}", ""]
        out += ["| Module | Enabled | Version | Source | Settings |", "|---|---|---|---|---|"]
        for m in client.modules:
            row = _module_row(m)
            settings = md_code(canonical_json(m.settings)) if m.settings else "-"
            out.append(f"| {md_code(m.id)} | {row[1]} | {md(row[2])} | {md(row[3])} | {settings} |")
        conflicts = [f"- ⚠️ {md_code(m.id)}: {md(c)}" for m in client.modules for c in m.conflicts]
        if conflicts:
            out += ["", "**Conflicts between the stores:**", "", *conflicts]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
