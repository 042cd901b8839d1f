"""Strict request bodies for the dashboard's writes (issue 18): the JSON revert body and the
revert form. Unknown keys, wrong types (`"force": "false"` is not a boolean) and over-long
values are refused with a 400 naming the key; nothing is guessed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from starlette.datastructures import FormData

from reconciler.model import ACTOR_MAX, REASON_MAX

MAX_CLIENTS = 100_000  # client ids in one revert request
_CLIENT_ID_MAX = 200


class BodyError(ValueError):
    """A request body that does not have the documented shape; the message says why."""


@dataclass(frozen=True, slots=True)
class RevertBody:
    """What a revert request may say: which clients, force, why and who."""

    clients: tuple[str, ...] = ()
    force: bool = False
    reason: str | None = None
    actor: str | None = None

    @classmethod
    def parse(cls, raw: bytes) -> RevertBody:
        """The JSON body of `POST /api/history/{run}/revert` (empty means `{}`)."""
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise BodyError("the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise BodyError(f"the body must be a JSON object, not {_kind(data)}")
        unknown = sorted(set(data) - {"clients", "force", "reason", "actor"})
        if unknown:
            raise BodyError(f"unknown key(s) in the body: {', '.join(map(repr, unknown))}")
        clients = data.get("clients", [])
        if not isinstance(clients, list) or not all(_client_id(c) for c in clients):
            raise BodyError('"clients" must be a list of client id strings')
        if len(clients) > MAX_CLIENTS:
            raise BodyError(f'"clients" lists more than {MAX_CLIENTS} ids')
        force = data.get("force", False)
        if not isinstance(force, bool):
            raise BodyError(f'"force" must be true or false (a JSON boolean), not {_kind(force)}')
        return cls(
            clients=tuple(clients),
            force=force,
            reason=_text(data, "reason", REASON_MAX),
            actor=_text(data, "actor", ACTOR_MAX),
        )

    @classmethod
    def from_form(cls, form: FormData) -> RevertBody:
        """The revert form of a run page: csrf_token, token, and optional client, force
        (a checkbox: "on"), reason and actor; each at most once."""
        allowed = {"csrf_token", "token", "client", "force", "reason", "actor"}
        keys = [key for key, _ in form.multi_items()]
        unknown = sorted(set(keys) - allowed)
        if unknown:
            raise BodyError(f"unknown field(s) in the form: {', '.join(map(repr, unknown))}")
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise BodyError(f"field(s) given more than once: {', '.join(map(repr, repeated))}")
        values: dict[str, str] = {}
        for key, value in form.multi_items():
            if not isinstance(value, str):
                raise BodyError(f"field {key!r} must be text, not a file")
            values[key] = value.strip()
        if values.get("force", "on") != "on":
            raise BodyError('field "force" is a checkbox: "on" or absent')
        client = values.get("client", "")
        if client and not _client_id(client):
            raise BodyError(f'field "client" must be a client id (at most {_CLIENT_ID_MAX} chars)')
        return cls(
            clients=(client,) if client else (),
            force="force" in values,
            reason=_text(values, "reason", REASON_MAX),
            actor=_text(values, "actor", ACTOR_MAX),
        )


def _client_id(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= _CLIENT_ID_MAX


def _text(data: Mapping[str, object], key: str, limit: int) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BodyError(f'"{key}" must be a string, not {_kind(value)}')
    if len(value) > limit:
        raise BodyError(f'"{key}" is {len(value)} characters long; at most {limit}')
    return value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return f"the string {json.dumps(value[:40])}"
    return {dict: "an object", list: "an array", int: "a number", float: "a number"}.get(
        type(value), "null"
    )
