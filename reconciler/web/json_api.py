"""The JSON API behind the pages: the same `to_json` documents as the CLI's `--format json`.

GET /api/drift, /api/clients/{id}, /api/plan, /api/history, /api/history/{run},
/api/rollouts, /api/rollouts/{id};
POST /api/history/{run}/revert with `Authorization: Bearer <token>` (a header no browser sends
cross-site on its own, so this endpoint needs no CSRF token; the HTML form does).
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler import api
from reconciler.results import RunList, RunMeta
from reconciler.web.board import dashboard, error_response, json_response, not_found, refuse_token
from reconciler.web.bodies import BodyError, RevertBody
from reconciler.web.security import bearer, token_in_query

log = logging.getLogger(__name__)


def drift(request: Request) -> Response:
    """`reconciler drift --format json`, from the cache; `?refresh=1` recomputes it, with the
    serve token only (a recompute reads every client)."""
    board = dashboard(request)
    refresh = request.query_params.get("refresh") == "1"
    if refresh or token_in_query(request):
        refused = refuse_token(request, bearer(request), "refresh", "refreshed", _HINT)
        if refused is not None:
            return refused
    view = board.fleet.get(refresh=refresh)
    return json_response(view.report)


def client(request: Request) -> Response:
    """`reconciler status --client ID --format json` for a client of the desired state."""
    board = dashboard(request)
    client_id = request.path_params["client_id"]
    if board.fleet.get().client(client_id) is None:
        raise not_found(f"client {client_id} is not in the desired state")
    cfg = board.config
    return json_response(
        api.status(cfg.store_url, [client_id], desired_dir=cfg.desired_dir).to_json()
    )


def plan(request: Request) -> Response:
    """`reconciler plan --format json` (sensitive values masked)."""
    return json_response(dashboard(request).plan.get().to_json())


def history(request: Request) -> Response:
    """`reconciler history --format json` (`?client=ID`, `?limit=N`)."""
    board = dashboard(request)
    client_id = request.query_params.get("client") or None
    try:
        limit = min(max(1, int(request.query_params.get("limit", "20"))), 1000)
    except ValueError:
        return error_response(request, 400, "limit must be a whole number")
    return json_response(
        RunList(
            runs=tuple(api.history(board.config.store_url, client_id=client_id, limit=limit))
        ).to_json()
    )


def run(request: Request) -> Response:
    """`reconciler history show RUN --format json` (sensitive settings masked)."""
    board = dashboard(request)
    return json_response(board.run_json(request.path_params["run_id"]))


async def revert(request: Request) -> Response:
    """Revert a run; body `{"clients": [...], "force": false, "reason": "..."}` (all optional)."""
    board = dashboard(request)
    run_id: int = request.path_params["run_id"]
    refused = refuse_token(request, bearer(request), "revert", "reverted", _HINT)
    if refused is not None:
        return refused
    try:
        body = RevertBody.parse(await request.body())
    except BodyError as exc:
        return error_response(request, 400, f"{exc}: nothing was reverted", _BODY_HINT)
    meta = RunMeta(
        actor=body.actor or "dashboard-api",
        command=f"reconciler serve: API revert {run_id}",
        reason=body.reason,
    )
    report = await board.revert(run_id, body, meta)
    return json_response(report.to_json(), 200 if report.ok else 409)


def rollouts(request: Request) -> Response:
    """`reconciler rollout status [ID] --format json`."""
    rollout_id = request.path_params.get("rollout_id")
    report = api.rollout_status(dashboard(request).config.store_url, rollout_id)
    return json_response(report.to_json())


_HINT = "send `Authorization: Bearer <token>` with RECONCILER_SERVE_TOKEN or the printed token"
_BODY_HINT = (
    'a JSON object with only these optional keys: {"clients": ["<client id>"], '
    '"force": false, "reason": "why", "actor": "who"}'
)

ROUTES = [
    Route("/api/drift", drift),
    Route("/api/clients/{client_id}", client),
    Route("/api/plan", plan),
    Route("/api/history", history),
    Route("/api/history/{run_id:int}", run),
    Route("/api/history/{run_id:int}/revert", revert, methods=["POST"]),
    Route("/api/rollouts", rollouts),
    Route("/api/rollouts/{rollout_id:int}", rollouts),
]
