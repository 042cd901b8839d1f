"""The dashboard's shared state: configuration, cached reports, page and error rendering (SPEC §8).

Every number and state shown comes from reconciler.api; this package only lays it out.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from reconciler import __version__, api
from reconciler.errors import Problem, ReconcilerError, UnknownClients
from reconciler.live.engine import display_url, make_engine
from reconciler.model import JSON
from reconciler.plan.drift import CLASSES, LABELS
from reconciler.plan.model import Plan
from reconciler.plan.rows import show
from reconciler.redact import redact_urls
from reconciler.results import ApplyReport, RunMeta
from reconciler.web.bodies import RevertBody
from reconciler.web.fleet import Recomputed, fleet_cache
from reconciler.web.security import CSRF_COOKIE, Csrf, Throttle, token_in_query, token_ok

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeConfig:
    """What `reconciler serve` was started with."""

    store_url: str
    desired_dir: str = "desired-state"
    token: str  # the revert token; never rendered
    cache_ttl: float = 30.0  # seconds a drift report or plan is reused
    host: str = "127.0.0.1"
    per_page: int = 50
    allowed_hosts: tuple[str, ...] = ()  # Host headers accepted besides loopback names


class Dashboard:
    """Per-application state: config, caches of the expensive reports, CSRF key, templates."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store = display_url(config.store_url)
        self.fleet = fleet_cache(self._drift_json, config.cache_ttl)
        self.plan = Recomputed(
            lambda: api.plan(config.store_url, config.desired_dir), config.cache_ttl
        )
        # Loading a large desired state takes seconds: pages reuse one masker and plan.
        self.masker = Recomputed(
            lambda: api.masker(config.store_url, config.desired_dir), config.cache_ttl
        )
        self._runs: OrderedDict[int, dict[str, JSON]] = OrderedDict()
        self._runs_lock = threading.Lock()
        self.csrf = Csrf()
        self.throttle = Throttle()
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["tojson_plain"] = show  # JSON text, like the CLI's tables
        self.env.globals.update(
            version=__version__, store=self.store, class_labels=LABELS, classes=CLASSES
        )
        # Loaded with the app, not by its first visitor: the api functions the overview and
        # client pages run, and the store's driver (imported when its engine is made; a bad
        # URL is reported by the pages, as before).
        for name in ("drift", "plan", "masker"):
            getattr(api, name)
        with contextlib.suppress(ReconcilerError):
            make_engine(config.store_url)

    def _drift_json(self) -> dict[str, JSON]:
        report: dict[str, JSON] = api.drift(
            self.config.store_url, self.config.desired_dir
        ).to_json()
        return report

    def client_drift(self, client_id: str) -> tuple[dict[str, JSON] | None, datetime | None]:
        """One client's drift entry (None: not in the desired state) and when it was
        classified: from the fleet's report once it is classified, else classified alone
        now (the client-id index: a client page before the fleet's first classification
        costs one client, not the fleet)."""
        view = self.fleet.peek()
        if view is not None:
            return view.client(client_id), view.computed_at
        try:
            report = api.drift(
                self.config.store_url, self.config.desired_dir, client_ids=[client_id]
            )
        except UnknownClients:
            return None, None
        clients: list[dict[str, JSON]] = report.to_json()["clients"]
        return (clients[0] if clients else None), datetime.now(UTC)

    def client_plan(self, client_id: str) -> tuple[Plan, datetime | None, bool]:
        """One client's pending plan, when it was made and whether it is the fleet's plan's
        (else planned alone now, as `client_drift`)."""
        fleet_plan: Plan | None = self.plan.peek()
        if fleet_plan is None:
            alone = api.plan(self.config.store_url, self.config.desired_dir, client_ids=[client_id])
            return alone, datetime.now(UTC), False
        mine = tuple(c for c in fleet_plan.clients if c.client_id == client_id)
        plan = replace(fleet_plan, clients=mine, unchanged=0 if mine else 1)
        return plan, self.plan.computed_at, True

    def warm(self) -> None:
        """Classify the fleet, then plan it, in the background now, so that the first visitors
        find the overview and client pages cached."""
        threading.Thread(target=self._warm, daemon=True).start()

    def _warm(self) -> None:
        for cache in (self.fleet, self.plan, self.masker):
            try:
                cache.get()
            except Exception as exc:  # the page will show the error; say it on stderr too
                log.warning("serve: preparing the dashboard failed: %s", redact_urls(str(exc)))
                return

    def refresh(self) -> None:
        """Recompute the drift report now; the plan and masker are recomputed on next use."""
        self.plan.clear()
        self.masker.clear()
        self.fleet.get(refresh=True)

    def written(self) -> None:
        """After a write (revert): cached reports are wrong, not merely old."""
        self.plan.clear()
        self.fleet.clear()

    async def revert(self, run_id: int, body: RevertBody, meta: RunMeta) -> ApplyReport:
        """`api.revert` off the event loop, for the page and the JSON API; the caches are
        dropped after it. Errors propagate: the app maps them to 404/409/400/503."""
        report = await run_in_threadpool(
            api.revert,
            self.config.store_url,
            run_id,
            client_ids=body.clients,
            force=body.force,
            meta=meta,
        )
        self.written()
        return report

    def run_json(self, run_id: int) -> dict[str, JSON]:
        """`history show RUN --format json` (masked); finished runs never change, so the last
        few are kept."""
        with self._runs_lock:
            if run_id in self._runs:
                self._runs.move_to_end(run_id)
                return self._runs[run_id]
        detail = api.show_run(self.config.store_url, run_id, masker=self.masker.get())
        data: dict[str, JSON] = detail.to_json()
        if detail.run.status != "running":
            with self._runs_lock:
                self._runs[run_id] = data
                while len(self._runs) > 8:
                    self._runs.popitem(last=False)
        return data

    def render(
        self, request: Request, template: str, context: dict[str, Any], status: int = 200
    ) -> HTMLResponse:
        """A page, with a CSRF token for its forms (and the cookie, when it is new)."""
        csrf, cookie = self.csrf.token_for(request)
        html = self.env.get_template(template).render(
            request=request, csrf_token=csrf, path=request.url.path, **context
        )
        response = HTMLResponse(html, status_code=status)
        if cookie is not None:
            response.set_cookie(CSRF_COOKIE, cookie, path="/", httponly=True, samesite="strict")
        return response


def dashboard(request: Request) -> Dashboard:
    board: Dashboard = request.app.state.dashboard
    return board


def json_response(data: JSON, status: int = 200) -> Response:
    """Stable JSON like the CLI's `--format json` (sorted keys, UTF-8 kept)."""
    body = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=_default)
    return Response(body + "\n", status_code=status, media_type="application/json")


def _default(value: Any) -> JSON:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(
    request: Request,
    status: int,
    message: str,
    hint: str = "",
    problems: tuple[Problem, ...] = (),
) -> Response:
    """An error as JSON (`/api/...`) or as a page; messages are redacted of URL passwords."""
    message, hint = redact_urls(message), redact_urls(hint)
    if _wants_json(request):
        data = {"error": message, "hint": hint, "problems": [p.to_json() for p in problems]}
        return json_response(data, status)
    context = {
        "title": f"Error {status}",
        "status": status,
        "message": message,
        "hint": hint,
        "problems": [str(p) for p in problems],
    }
    return dashboard(request).render(request, "error.html", context, status)


def refuse_token(
    request: Request, given: str | None, action: str, past: str, hint: str
) -> Response | None:
    """None when `given` is the serve token; else the refusal: 400 for a token in the URL,
    429 after too many wrong tokens from this address, 401 without one, 403 for a wrong one."""
    board = dashboard(request)
    address = request.client.host if request.client else "unknown"
    if token_in_query(request):
        return error_response(
            request,
            400,
            f"a token in the URL is refused (URLs are logged): nothing was {past}",
            "send the token in the `Authorization: Bearer <token>` header (or the page's form)",
        )
    wait = board.throttle.wait(address)
    if wait > 0:
        log.warning("serve: %s refused: too many wrong tokens from %s", action, address)
        response = error_response(
            request, 429, f"too many wrong tokens: try again in {int(wait) + 1} s", hint
        )
        response.headers["retry-after"] = str(int(wait) + 1)
        return response
    if not given:
        return error_response(request, 401, f"a token is required to {action}", hint)
    if not token_ok(given, board.config.token):
        board.throttle.failed(address)
        log.warning("serve: %s refused: wrong token from %s", action, address)
        return error_response(request, 403, f"wrong token: nothing was {past}", hint)
    return None


def not_found(message: str, hint: str = "") -> HTTPException:
    """A 404 carrying a hint for the error page."""
    return HTTPException(404, message, headers={"x-hint": hint} if hint else None)
