"""The result of `import` as text or markdown; JSON is `ImportReport.to_json()` (SPEC §7)."""

from __future__ import annotations

from typing import IO

from reconciler.render.escape import md_code, term
from reconciler.results import ImportedClient, ImportReport

_VERB = {
    "written": "wrote",
    "overwritten": "overwrote",
    "exists": "exists, not overwritten (pass --force)",
    "failed": "failed",
}


def _modules(client: ImportedClient) -> str:
    counts = {"unified": 0, "legacy": 0, "registry": 0}
    for module in client.modules:
        counts[module.source] += 1
    shown = ", ".join(f"{n} {source}" for source, n in counts.items())
    conflicts = client.conflict_count
    plural = "" if conflicts == 1 else "s"
    row = "" if client.legacy_row else "; no legacy row (legacy defaults)"
    return f"{len(client.modules)} modules ({shown}){row}, {conflicts} conflict{plural}"


def write_text(report: ImportReport, out: IO[str]) -> None:
    out.write(term(f"Import from {report.store} into {report.out_dir}") + "\n")
    for client in report.clients:
        line = f"  {_VERB[client.status]} {client.file}  {client.client_id}"
        if client.status in ("written", "overwritten"):
            line += f"  strategy {client.strategy}, {_modules(client)}"
        elif client.status == "failed":
            line += f": {client.error}"
        out.write(term(line) + "\n")
    summary = report.to_json()["summary"]
    out.write(
        f"\n{summary['written'] + summary['overwritten']} written, {summary['exists']} existing "
        f"(not overwritten), {summary['failed']} failed, {summary['conflicts']} conflicts\n"
    )


def write_markdown(report: ImportReport, out: IO[str]) -> None:
    store, out_dir = md_code(report.store), md_code(report.out_dir)
    out.write(f"### module-reconciler import\n\nStore {store} into {out_dir}\n\n")
    out.write("| client | file | status | strategy | modules | conflicts |\n")
    out.write("|---|---|---|---|---|---:|\n")
    for c in report.clients:
        out.write(
            f"| {md_code(c.client_id)} | {md_code(c.file)} | {c.status} | {c.strategy} "
            f"| {len(c.modules)} "
            f"| {c.conflict_count} |\n"
        )


def write_warnings(report: ImportReport, err: IO[str]) -> None:
    """Every conflict between the stores, one `warning:` line each (stderr)."""
    for client in report.clients:
        for line in client.warnings():
            err.write(f"warning: {term(line)}\n")


def write_secret_variables(report: ImportReport, err: IO[str]) -> None:
    """The environment variables the written files refer to, one line each (stderr); the
    values stay in the live store."""
    names = [(c, v) for c in report.clients for v in c.secret_variables]
    if not names:
        return
    err.write(
        f"{len(names)} sensitive setting(s) written as environment references; set each "
        "variable to the value in the live store before `plan`:\n"
    )
    for client, (variable, module, setting) in names:
        err.write(f"  {variable}  (client {term(client.client_id)}, {module} {setting})\n")
