"""A plan too large to print whole before applying (issue 15): its first clients, every count."""

from __future__ import annotations

import io

from reconciler import render
from reconciler.plan.model import Change, ChangeKind, ClientPlan, Plan, summarize
from reconciler.plan.preview import PlanPreview


def client(cid: str) -> ClientPlan:
    change = Change(
        client_id=cid,
        module="forms",
        kind=ChangeKind.ENABLE,
        old=False,
        new=True,
        stores=frozenset({"legacy", "registry"}),
    )
    return ClientPlan.build([change], client_id=cid, name=f"c-{cid}", live_fingerprint="f")


def test_text_and_markdown_show_the_first_clients_and_count_all() -> None:
    everyone = [client(f"{i:02d}") for i in range(30)]
    whole = Plan(clients=tuple(everyone), unchanged=4, store="sqlite:///x.db")
    shown = Plan(clients=tuple(everyone[:2]), store="sqlite:///x.db")
    summary = summarize(everyone, 4)
    preview = PlanPreview(plan=shown, summary=summary, hidden=28, limit=10)

    text, full = io.StringIO(), io.StringIO()
    render.write(preview, "text", text)
    render.write(whole, "text", full)
    head = full.getvalue().split("\n\n")
    assert text.getvalue().split("\n\n") == [
        *head[:3],
        "... and 28 more clients with changes, not shown (a plan of more than 10 clients is "
        "shortened here; `reconciler plan` shows all)",
        head[-1],
    ]
    assert (
        head[-1] == "Plan: 30 clients to change, 4 unchanged: 30 modules to enable, 0 to "
        "disable, 0 to update, 0 override paths\n"
    )

    markdown, full_md = io.StringIO(), io.StringIO()
    render.write(preview, "markdown", markdown)
    render.write(whole, "markdown", full_md)
    table = "| 30 | 4 | 30 | 0 | 0 | 0 | 0 | 0 |"
    assert table in markdown.getvalue()
    assert table in full_md.getvalue()
    assert markdown.getvalue().count("<details>") == 2
    assert markdown.getvalue().endswith(
        "\n**28 more clients not shown** (a plan of more than 10 clients is shortened before "
        "applying). The full plan: `reconciler plan --format markdown`.\n"
    )
