"""`explain` as text or markdown; JSON is `ExplainReport.to_json()`."""

from __future__ import annotations

import json
from typing import IO

from reconciler.model import JSON
from reconciler.results import ExplainReport, Origin


def _show(value: JSON) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _where(origin: Origin) -> str:
    return str(origin.location) if origin.location.file else "(no file)"


def write_text(report: ExplainReport, out: IO[str]) -> None:
    profiles = ", ".join(report.profiles) or "none"
    out.write(f"{report.name or report.client_id}  {report.client_id}  ({report.file})\n")
    out.write(
        "layers, lowest first: module default_settings < reconciler.yaml defaults < "
        f"profiles ({profiles}) < client file\n"
    )
    for value in report.values:
        out.write(f"\n{value.path} = {_show(value.value)}\n")
        out.write(f"    set by   {value.set_by.layer}  {_where(value.set_by)}\n")
        for older in reversed(value.overrode):
            out.write(f"    overrode {older.layer}  {_where(older)}  {_show(older.value)}\n")


def write_markdown(report: ExplainReport, out: IO[str]) -> None:
    out.write(f"### Where the values of {report.name or report.client_id} come from\n\n")
    out.write("| value | set to | set by | overrode |\n|---|---|---|---|\n")
    for value in report.values:
        overrode = "<br>".join(
            f"{o.layer} `{_where(o)}` `{_show(o.value)}`" for o in reversed(value.overrode)
        )
        out.write(
            f"| `{value.path}` | `{_show(value.value)}` "
            f"| {value.set_by.layer} `{_where(value.set_by)}` | {overrode} |\n"
        )
