"""The dashboard's guards: the revert token, CSRF tokens, security headers (SPEC §8, issue 9).

- Revert needs the serve token (RECONCILER_SERVE_TOKEN, or one generated at start).
- Every state-changing form POST carries a CSRF token: a random value in an HMAC-signed,
  HttpOnly, SameSite=Strict cookie, repeated in a hidden field (double submit, signed so a
  sibling site that can set cookies cannot forge a pair). A foreign Origin is refused too.
- Comparisons use secrets.compare_digest so timing tells nothing about a token.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
import time
import traceback
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reconciler.errors import ReconcilerError
from reconciler.redact import redact_urls, secret_param

CSRF_COOKIE = "reconciler_csrf"
CSRF_FIELD = "csrf_token"
TOKEN_ENV = "RECONCILER_SERVE_TOKEN"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
MIN_TOKEN_LENGTH = 32
# Wrong tokens from one client address: after MAX_FAILURES within FAILURE_WINDOW seconds, every
# token check from it answers 429 until the oldest failure leaves the window.
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0
_MAX_TRACKED = 10_000  # client addresses remembered (oldest forgotten first)

# Pages have no scripts and no inline styles; nothing may frame them (clickjacking a revert).
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    # not no-referrer: under it Chromium sends `Origin: null` on form POSTs, which we refuse
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def new_token() -> str:
    """A revert token for a server started without RECONCILER_SERVE_TOKEN."""
    return secrets.token_urlsafe(24)


def token_ok(given: str | None, expected: str) -> bool:
    """True when `given` is the serve token (constant-time)."""
    if not given or not expected:
        return False
    return secrets.compare_digest(given.encode(), expected.encode())


def bearer(request: Request) -> str | None:
    """The token of an `Authorization: Bearer ...` header, if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class Csrf:
    """Issues and checks CSRF tokens signed with a key that lives only in this process."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def _sign(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def token_for(self, request: Request) -> tuple[str, str | None]:
        """The request's CSRF value, and a cookie to set when it had no valid one."""
        value = self._cookie_value(request)
        if value is not None:
            return value, None
        value = secrets.token_urlsafe(24)
        return value, f"{value}.{self._sign(value)}"

    def _cookie_value(self, request: Request) -> str | None:
        value, _, signature = request.cookies.get(CSRF_COOKIE, "").partition(".")
        if value and secrets.compare_digest(signature.encode(), self._sign(value).encode()):
            return value
        return None

    def check(self, request: Request, field: str | None) -> bool:
        """True when the form field matches the signed cookie and the origin is our own."""
        if not same_origin(request):
            return False
        value = self._cookie_value(request)
        if value is None or not field:
            return False
        return secrets.compare_digest(field.encode(), value.encode())


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site."""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS, and `server-timing: app;dur=<ms>` (time spent
    in the application until the response starts), to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        start = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - start) * 1000
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [
                    (k.encode(), v.encode())
                    for k, v in SECURITY_HEADERS.items()
                    if k.encode() not in present
                ]
                extra.append((b"server-timing", f"app;dur={elapsed:.1f}".encode()))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def allowed_hosts(host: str, extra: Sequence[str] = ()) -> list[str]:
    """Host headers to accept (DNS rebinding): the loopback names when bound to loopback, plus
    the names given with --allowed-host; off loopback only those, and at least one."""
    check_serve_options(host, extra)
    return [*LOOPBACK_HOSTS, *extra] if host in LOOPBACK_HOSTS else list(extra)


def check_serve_options(host: str, allowed: Sequence[str], token: str | None = None) -> None:
    """Refuse a dashboard reachable under any Host name, or guarded by a short token."""
    if "*" in allowed:
        raise ReconcilerError(
            "--allowed-host '*' accepts any Host header, which lets DNS rebinding reach revert",
            hint="name the host(s) browsers use, e.g. --allowed-host reconciler.example.com "
            "(a leading *. matches subdomains)",
        )
    if host not in LOOPBACK_HOSTS and not allowed:
        raise ReconcilerError(
            f"serving on {host} needs at least one --allowed-host",
            hint="name the host(s) browsers use to reach the dashboard, e.g. "
            "--allowed-host reconciler.example.com; other Host headers are refused (DNS rebinding)",
        )
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ReconcilerError(
            f"{TOKEN_ENV} is too short: {len(token)} characters, "
            f"at least {MIN_TOKEN_LENGTH} needed",
            hint="generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`, "
            f"or unset {TOKEN_ENV} to have one generated",
        )


def token_in_query(request: Request) -> bool:
    """True when the URL carries a credential-like parameter (`?token=...`): refused, since
    URLs end up in logs, histories and referrers."""
    return any(secret_param(name) for name in request.query_params)


class Throttle:
    """Counts wrong tokens per client address; `wait` says how long it must wait (0: go on)."""

    def __init__(
        self,
        limit: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self._clock = limit, window, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.get(address)
        if failures is None:
            return deque()
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
        return failures

    def wait(self, address: str) -> float:
        """Seconds until `address` may try a token again; 0 when it may now."""
        with self._lock:
            now = self._clock()
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return 0.0
            return max(0.0, failures[-self.limit] + self.window - now)

    def failed(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(address, now)
            self._failures.setdefault(address, deque(maxlen=self.limit)).append(now)
            self._failures.move_to_end(address)
            while len(self._failures) > _MAX_TRACKED:
                self._failures.popitem(last=False)


class RedactQuery(logging.Filter):
    """For uvicorn's logs: credential-like query parameters (`?token=`) and store URL passwords
    are logged as `***`, in the message and in a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact_urls(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact_urls(record.msg)
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = redact_urls(text)
        return True
