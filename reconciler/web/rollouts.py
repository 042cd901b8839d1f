"""The dashboard's rollout pages: every rollout, and one rollout's waves, runs and gate results."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler import api
from reconciler.rollout_results import RolloutList, RolloutReport, WaveStatus
from reconciler.web.board import dashboard


def rollouts_page(request: Request) -> Response:
    """Recent rollouts, newest first, with each wave's state (progress)."""
    board = dashboard(request)
    listing = api.rollout_status(board.config.store_url)
    assert isinstance(listing, RolloutList)
    context = {"title": "Rollouts", "rollouts": listing.rollouts}
    return board.render(request, "rollouts.html", context)


def rollout_page(request: Request) -> Response:
    """One rollout: waves with state, clients, apply and revert runs, latest gate results."""
    board = dashboard(request)
    report = api.rollout_status(board.config.store_url, request.path_params["rollout_id"])
    assert isinstance(report, RolloutReport)
    passed = sum(1 for w in report.waves if w.state == "passed")
    context = {"title": f"Rollout {report.id}", "r": report, "passed": passed}
    return board.render(request, "rollout.html", context)


def client_rollouts(store_url: str, client_id: str) -> list[tuple[RolloutReport, WaveStatus]]:
    """The recent rollouts that include a client, with the wave it belongs to."""
    listing = api.rollout_status(store_url)
    assert isinstance(listing, RolloutList)
    return [(r, w) for r in listing.rollouts for w in r.waves if client_id in w.clients]


ROUTES = [
    Route("/rollouts", rollouts_page, name="rollouts"),
    Route("/rollouts/{rollout_id:int}", rollout_page, name="rollout"),
]
