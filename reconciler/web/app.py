"""The dashboard as an ASGI application: routes, middleware, and errors mapped to HTTP statuses
(SPEC §8): a run that does not exist is 404, a refused write 409, a bad request 400 (request
bodies, raised as HTTPException by the routes), and any other ReconcilerError (store down,
desired state invalid) 503: the service cannot answer until an operator fixes it. 500 is only
for bugs."""

from __future__ import annotations

import logging

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from reconciler.errors import (
    BadInput,
    ConnectionLost,
    ReconcilerError,
    RunNotFound,
    StalePlan,
    UnsafePlan,
)
from reconciler.web import json_api, metrics, pages
from reconciler.web.board import HERE, Dashboard, ServeConfig, error_response
from reconciler.web.security import SecurityHeaders, allowed_hosts, check_serve_options

log = logging.getLogger(__name__)

# The first class in an error's MRO found here gives its status; other ReconcilerErrors: 503.
HTTP_STATUS: dict[type[ReconcilerError], int] = {
    BadInput: 400,
    RunNotFound: 404,
    StalePlan: 409,
    UnsafePlan: 409,
    ConnectionLost: 503,
}


def http_status(exc: ReconcilerError) -> int:
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 503


async def _reconciler_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ReconcilerError)
    return error_response(request, http_status(exc), exc.message, exc.hint, exc.problems)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    hint = (exc.headers or {}).get("x-hint", "")
    return error_response(request, exc.status_code, str(exc.detail), hint)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("serve: unexpected %s on %s", type(exc).__name__, request.url.path)
    return error_response(request, 500, f"unexpected {type(exc).__name__}; see the server log")


def create_app(config: ServeConfig) -> Starlette:
    """The dashboard as an ASGI application (run it with uvicorn).

    Raises:
        ReconcilerError: off loopback without allowed hosts, or a token shorter than 32.
    """
    check_serve_options(config.host, config.allowed_hosts, config.token)
    app = Starlette(
        routes=[
            *pages.ROUTES,
            *json_api.ROUTES,
            *metrics.ROUTES,
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(
                TrustedHostMiddleware,
                allowed_hosts=allowed_hosts(config.host, config.allowed_hosts),
            ),
        ],
        exception_handlers={
            ReconcilerError: _reconciler_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
    )
    app.state.dashboard = Dashboard(config)
    app.state.metrics = metrics.registry_for(app.state.dashboard)
    return app


__all__ = ["ServeConfig", "create_app"]
