"""Keep credentials out of text: store URLs are shown with `***` (SPEC §4, non-negotiable 6).

A URL can carry a credential in two places, and both are masked:
- the userinfo password, `scheme://user:PASSWORD@host`, which may itself hold `@`, `:` or `/`
  unencoded: it runs to the LAST `@` before the query string (`p@ss:w@host` is one password);
- the query string: `?password=`, `&sslpassword=`, and any parameter whose name says it is a
  credential (pass, pwd, secret, token, auth, key...).
"""

from __future__ import annotations

import re
from typing import NamedTuple

MASK = "***"
_SCHEME = r"[a-zA-Z][a-zA-Z0-9+.\-]*://"
_URL_TOKEN = re.compile(_SCHEME + r"\S*")  # a URL inside free text runs to the next space
# Names of query parameters that carry a credential (libpq: password, sslpassword; others).
_SECRET_NAME = re.compile(r"pass|pwd|secret|token|auth|credential|key", re.IGNORECASE)
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[^=&;#\s?]+)=(?P<value>[^&;#\s'\"<>]*)")


class Userinfo(NamedTuple):
    """A URL split around its userinfo: `head` + user [+ ":" + password] + "@" + `rest`."""

    head: str  # "scheme://"
    user: str
    password: str | None
    rest: str  # host, port, database, query


def split_userinfo(url: str) -> Userinfo | None:
    """The userinfo of `url`, or None when it has none (no scheme, or no `@` before the query).

    The userinfo ends at the last `@` before the first `?`, so a password may contain `@`, `:`
    and `/` without percent-encoding.
    """
    found = re.match(_SCHEME, url)
    if found is None:
        return None
    head, body = url[: found.end()], url[found.end() :]
    authority = body.split("?", 1)[0]
    at = authority.rfind("@")
    if at < 0:
        return None
    user, colon, password = body[:at].partition(":")
    return Userinfo(head, user, password if colon else None, body[at + 1 :])


def redact_url(url: str) -> str:
    """One URL (the whole of `url`) with its password and credential parameters masked."""
    parts = split_userinfo(url)
    if parts is not None and parts.password is not None:
        url = f"{parts.head}{parts.user}:{MASK}@{parts.rest}"
    return _redact_query(url)


def secret_param(name: str) -> bool:
    """Whether a URL query parameter called `name` carries a credential."""
    return _SECRET_NAME.search(name) is not None


def _mask_param(m: re.Match[str]) -> str:
    if not secret_param(m.group("name")):
        return m.group(0)
    return f"{m.group('sep')}{m.group('name')}={MASK}"


def _redact_query(url: str) -> str:
    head, question, query = url.partition("?")
    if not question:
        return url
    return head + _QUERY_PARAM.sub(_mask_param, "?" + query)


def redact_urls(text: str) -> str:
    """Every URL in `text` with its password and credential parameters masked, and any
    `?password=...`-like parameter even outside a URL (the tail of one cut by a space)."""
    if "://" in text:
        text = _URL_TOKEN.sub(lambda m: redact_url(m.group(0)), text)
    if "=" in text:
        text = _QUERY_PARAM.sub(_mask_param, text)
    return text
