"""The dashboard's HTML pages: overview, client, plan, history, run, and the two POST actions."""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from reconciler import api
from reconciler.model import JSON
from reconciler.plan.diff import json_paths
from reconciler.plan.drift import CLASSES
from reconciler.plan.model import Plan
from reconciler.plan.rows import show
from reconciler.render.plan import render_markdown, text_lines
from reconciler.results import RunMeta
from reconciler.web.board import dashboard, error_response, not_found, refuse_token
from reconciler.web.bodies import BodyError, RevertBody
from reconciler.web.rollouts import ROUTES as ROLLOUT_ROUTES
from reconciler.web.rollouts import client_rollouts
from reconciler.web.security import CSRF_FIELD

log = logging.getLogger(__name__)
_LINE_CLASS = {"+": "add", "-": "remove", "~": "change", "i": "info", "=": "adopt"}


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def plan_lines(plan: Plan, fmt: str = "text") -> list[tuple[str, str]]:
    """The engine's layout of a plan as (css class, line) pairs for a <pre> block, styled by
    each line's kind (render/plan.py), never by parsing the text back."""
    if fmt == "markdown":
        return [("", line) for line in render_markdown(plan).splitlines()]
    return [
        (_LINE_CLASS.get(kind, ""), painted + plain) for kind, painted, plain in text_lines(plan)
    ]


def overview(request: Request) -> Response:
    """Every client with its drift class; filter by class, search by id or name, paginated."""
    board = dashboard(request)
    view = board.fleet.get()
    status = request.query_params.get("class", "")
    status = status if status in CLASSES else ""
    query = request.query_params.get("q", "")[:200]
    page = view.page(
        status=status,
        query=query,
        page=_int(request.query_params.get("page"), 1),
        per_page=board.config.per_page,
    )
    context = {
        "title": "Fleet",
        "view": view,
        "page": page,
        "status": status,
        "query": query,
    }
    return board.render(request, "overview.html", context)


def client_page(request: Request) -> Response:
    """One client: drift class, unified modules with source badges, conflicts, pending plan."""
    board = dashboard(request)
    cfg = board.config
    client_id = request.path_params["client_id"]
    drift, computed_at = board.client_drift(client_id)
    if drift is None:
        raise not_found(
            f"client {client_id} is not in the desired state",
            "the overview lists every client of the desired state; refresh it after a change",
        )
    plan, plan_at, fleets = board.client_plan(client_id)
    settings = plan.settings
    # The cached plan's settings and masker spare a reload of the desired state (seconds for
    # a large fleet); the live state itself is read now.
    report = api.status(
        cfg.store_url,
        [client_id],
        legacy_defaults=settings.legacy_defaults if settings else None,
        sensitive=board.masker.get().sensitive,
    )
    runs = api.history(cfg.store_url, client_id=client_id, limit=10)
    context = {
        "title": drift["name"] or client_id,
        "drift": drift,
        "computed_at": computed_at,
        "client": report.clients[0] if report.clients else None,
        "warnings": report.warnings,
        "plan_lines": plan_lines(plan),
        "has_changes": bool(plan.clients),
        "plan_at": plan_at,
        "fleets_plan": fleets,
        "runs": runs,
        "rollouts": client_rollouts(cfg.store_url, client_id),
    }
    return board.render(request, "client.html", context)


def plan_page(request: Request) -> Response:
    """The current plan of the whole fleet, as the engine renders it (text or markdown)."""
    board = dashboard(request)
    fmt = "markdown" if request.query_params.get("format") == "markdown" else "text"
    plan: Plan = board.plan.get()
    context = {"title": "Plan", "fmt": fmt, "lines": plan_lines(plan, fmt), "plan": plan}
    return board.render(request, "plan.html", context)


def history_page(request: Request) -> Response:
    """Recorded runs, newest first; optionally only those that changed one client."""
    board = dashboard(request)
    client_id = request.query_params.get("client", "").strip()
    limit = min(max(1, _int(request.query_params.get("limit"), 50)), 1000)
    runs = api.history(board.config.store_url, client_id=client_id or None, limit=limit)
    context = {"title": "History", "runs": runs, "client_id": client_id, "limit": limit}
    return board.render(request, "history.html", context)


def _show_legacy(state: dict[str, JSON]) -> dict[str, JSON]:
    return {**state, "legacy": state["legacy"] if state["legacy"] is not None else "(no row)"}


def snapshot_diffs(snapshots: list[dict[str, JSON]]) -> list[dict[str, Any]]:
    """Per client of a run (already masked), the paths where before and after differ."""
    clients = []
    for snap in snapshots:
        before, after = _show_legacy(snap["before"]), _show_legacy(snap["after"])
        rows = [(".".join(p), show(old), show(new)) for p, old, new in json_paths(before, after)]
        clients.append({"client_id": snap["client_id"], "rows": rows, **snap})
    return clients


def run_page(request: Request) -> Response:
    """One run: who, when, why, and each client's before -> after, with revert buttons."""
    board = dashboard(request)
    run_id: int = request.path_params["run_id"]
    data = board.run_json(run_id)
    everyone: list[dict[str, JSON]] = data["clients"]
    per_page = board.config.per_page
    pages = max(1, -(-len(everyone) // per_page))
    page = min(max(1, _int(request.query_params.get("page"), 1)), pages)
    shown = everyone[(page - 1) * per_page : page * per_page]
    view = board.fleet.peek()  # names only when the overview is cached: never classify here
    found = [view.client(c["client_id"]) for c in shown] if view else []
    names = {c["client_id"]: c["name"] for c in found if c}
    context = {
        "title": f"Run {run_id}",
        "run": data["run"],
        "clients": snapshot_diffs(shown),
        "total": len(everyone),
        "first": (page - 1) * per_page + 1,
        "page": page,
        "pages": pages,
        "names": names,
    }
    return board.render(request, "run.html", context)


def _check_csrf(request: Request, form: FormData) -> None:
    field = form.get(CSRF_FIELD)
    if not dashboard(request).csrf.check(request, field if isinstance(field, str) else None):
        raise HTTPException(
            403,
            "CSRF check failed: this form did not come from this dashboard",
            headers={"x-hint": "reload the page and submit the form again"},
        )


def _form_text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


async def revert_action(request: Request) -> Response:
    """POST: revert a run (or one client of it); needs the CSRF token and the serve token."""
    board = dashboard(request)
    run_id: int = request.path_params["run_id"]
    form = await request.form()
    _check_csrf(request, form)
    refused = refuse_token(request, _form_text(form, "token"), "revert", "reverted", _TOKEN_HINT)
    if refused is not None:
        return refused
    try:
        body = RevertBody.from_form(form)
    except BodyError as exc:
        return error_response(request, 400, f"{exc}: nothing was reverted")
    client_id = body.clients[0] if body.clients else ""
    command = f"reconciler serve: revert {run_id}" + (f" --client {client_id}" if client_id else "")
    meta = RunMeta(
        actor=body.actor or "dashboard",
        command=command + (" --force" if body.force else ""),
        reason=body.reason,
    )
    report = await board.revert(run_id, body, meta)
    log.info("serve: revert of run %d: run %s, ok=%s", run_id, report.run_id, report.ok)
    context = {"title": f"Revert of run {run_id}", "run_id": run_id, "report": report.to_json()}
    return board.render(request, "reverted.html", context, 200 if report.ok else 409)


_TOKEN_HINT = (
    "use RECONCILER_SERVE_TOKEN, or the token `reconciler serve` printed on stderr at start"
)


async def refresh_action(request: Request) -> Response:
    """POST: classify the fleet again now instead of waiting for the cache to expire."""
    form = await request.form()
    _check_csrf(request, form)
    await run_in_threadpool(dashboard(request).refresh)
    target = _form_text(form, "next")
    safe = target.startswith("/") and not target.startswith("//")
    return RedirectResponse(target if safe else "/", status_code=303)


ROUTES = [
    Route("/", overview, name="overview"),
    Route("/clients/{client_id}", client_page, name="client"),
    Route("/plan", plan_page, name="plan"),
    Route("/history", history_page, name="history"),
    Route("/runs/{run_id:int}", run_page, name="run"),
    Route("/runs/{run_id:int}/revert", revert_action, methods=["POST"], name="revert"),
    Route("/refresh", refresh_action, methods=["POST"], name="refresh"),
    *ROLLOUT_ROUTES,
]
