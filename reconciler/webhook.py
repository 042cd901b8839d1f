"""POST JSON to a webhook with bounded retries (`drift --notify`, issue 17), and show its URL
without secrets.

A connection error, a timeout, 408, 429 or a 5xx answer is retried with exponential backoff
(tenacity) up to `Retry.attempts` tries; any other non-2xx answer is final at once (the
receiver refused the request, trying again would not help). Each try has a timeout, so a
delivery never takes longer than attempts x timeout plus the waits.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reconciler import __version__
from reconciler.model import JSON

if TYPE_CHECKING:  # httpx and tenacity are imported when a webhook is called (issue 15)
    import httpx

log = logging.getLogger(__name__)

_RETRIED_STATUS = frozenset({408, 429})
# A path segment this long with letters and digits is taken for a token (chat webhook URLs
# carry theirs in the path).
_TOKEN_SEGMENT = re.compile(r"^(?=.*[A-Za-z])(?=.*\d)[A-Za-z0-9_\-]{16,}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Retry:
    """How hard to try one delivery: tries, backoff (seconds, doubling up to `wait_max`)."""

    attempts: int = 3
    wait_initial: float = 1.0
    wait_max: float = 10.0
    timeout: float = 10.0  # per try: connect, read and write each


class DeliveryFailed(Exception):
    """The webhook did not accept the event; the message names why (URL redacted)."""


class _Retryable(DeliveryFailed):
    """A failure worth another try: network trouble, 408, 429 or 5xx."""


def post_json(
    client: httpx.Client, url: str, body: JSON, *, retry: Retry, headers: dict[str, str]
) -> None:
    """POST `body` to `url`; return once a 2xx answer came, or raise DeliveryFailed."""
    import httpx
    from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

    content = json.dumps(body, sort_keys=True, ensure_ascii=False).encode()
    shown = redact_url(url)
    attempt = 0

    def once() -> None:
        nonlocal attempt
        attempt += 1
        try:
            response = client.post(url, content=content, headers=headers, timeout=retry.timeout)
        except httpx.HTTPError as exc:  # connection refused, timeout, protocol error
            log.info("notify: %s try %d: %s", shown, attempt, type(exc).__name__)
            raise _Retryable(f"{type(exc).__name__}: {_reason(exc)}") from None
        if response.is_success:
            return
        message = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        log.info("notify: %s try %d: %s", shown, attempt, message)
        if response.status_code in _RETRIED_STATUS or response.status_code >= 500:
            raise _Retryable(message)
        raise DeliveryFailed(message)

    retrying = Retrying(
        stop=stop_after_attempt(retry.attempts),
        wait=wait_exponential(multiplier=retry.wait_initial, max=retry.wait_max),
        retry=retry_if_exception_type(_Retryable),
        reraise=True,
    )
    try:
        retrying(once)
    except DeliveryFailed as exc:
        tries = f"after {attempt} tries" if attempt > 1 else "after 1 try"
        raise DeliveryFailed(f"{exc} ({tries})") from None


def new_client() -> httpx.Client:
    """One connection pool for every delivery of a run (HTTPS_PROXY and friends apply)."""
    import httpx

    return httpx.Client(
        headers={"user-agent": f"module-reconciler/{__version__}"}, follow_redirects=False
    )


def _reason(exc: httpx.HTTPError) -> str:
    # httpx messages may quote the URL; say what happened without it.
    text = str(exc) or type(exc).__name__
    return redact_urls_in(text)


def redact_urls_in(text: str) -> str:
    """Every URL in `text` redacted like `redact_url`."""
    return re.sub(r"[a-zA-Z][a-zA-Z0-9+.\-]*://\S+", lambda m: redact_url(m.group(0)), text)


def redact_url(url: str) -> str:
    """`url` fit to print: user and password, every query value and path segments that look
    like tokens hidden as `***`; scheme, host, port and the rest of the path kept."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if port is None else f"{host}:{port}"
    if parts.username or parts.password:  # user names may be tokens too
        netloc = f"***@{netloc}"
    path = "/".join("***" if _TOKEN_SEGMENT.match(s) else s for s in parts.path.split("/"))
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, path, query.replace("%2A", "*"), ""))
