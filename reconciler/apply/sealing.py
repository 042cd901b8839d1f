"""Sensitive values in history snapshots (issue 18).

Each snapshot records which settings paths were sensitive when it was written (`"sensitive"`
inside the stored JSON), so history masks by that and not by today's catalog. With
`RECONCILER_HISTORY_KEY` (a Fernet key) the values at those paths are stored encrypted, as
`{"$encrypted": token}`; without it they are stored as the live registry row keeps them.
Revert decrypts and refuses a client whose values it cannot decrypt.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from reconciler.errors import ReconcilerError
from reconciler.model import JSON, ClientLive, canonical_json
from reconciler.plan.mask import secret_like_paths

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

KEY_ENV = "RECONCILER_HISTORY_KEY"
MARK = "$encrypted"
Sensitive = Mapping[str, Collection[tuple[str, ...]]]

log = logging.getLogger(__name__)
_warned: set[str] = set()


def history_key() -> Fernet | None:
    """The Fernet key of `RECONCILER_HISTORY_KEY`, None when unset or empty."""
    raw = os.environ.get(KEY_ENV, "").strip()
    if not raw:
        return None
    from cryptography.fernet import Fernet

    try:
        return Fernet(raw.encode())
    except (ValueError, TypeError):
        raise ReconcilerError(
            f"{KEY_ENV} is not a valid Fernet key (32 url-safe base64-encoded bytes)",
            hint="generate one with `python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'` and keep it in your secret store",
        ) from None


def _walk(node: JSON, path: tuple[str, ...]) -> Iterator[tuple[JSON, str]]:
    """(parent mapping, key) of every value at `path` (through lists, each item)."""
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path)
        return
    if not isinstance(node, dict) or not path or path[0] not in node:
        return
    if len(path) == 1:
        yield node, path[0]
    else:
        yield from _walk(node[path[0]], path[1:])


def _is_sealed(value: JSON) -> bool:
    return isinstance(value, dict) and len(value) == 1 and MARK in value


@dataclass(frozen=True, slots=True)
class Sealer:
    """How a run stores snapshots: the catalog's sensitive paths and the key (or None)."""

    sensitive: Sensitive = field(default_factory=dict)
    key: Fernet | None = None

    def paths(self, live: ClientLive, extra: Sensitive) -> dict[str, list[list[str]]]:
        """The sensitive paths of each of the client's modules: the catalog's and `extra`, or
        for a module no catalog knows, its secret-looking keys (as masking does)."""
        found: dict[str, list[list[str]]] = {}
        for module_id, row in sorted(live.registry.items()):
            paths: Collection[tuple[str, ...]]
            if module_id in extra:
                paths = set(self.sensitive.get(module_id, ())) | set(extra[module_id])
            elif module_id in self.sensitive:  # the catalog's alone (most modules): as it is
                paths = self.sensitive[module_id]
            else:
                paths = secret_like_paths(row.settings)
            if paths:
                found[module_id] = [list(p) for p in sorted(paths)]
        return found

    def seal(self, live: ClientLive, extra: Sensitive = {}) -> dict[str, JSON]:  # noqa: B006
        """The stored JSON of a snapshot: values encrypted with a key, and what is sensitive."""
        data = live.to_json()
        sensitive = self.paths(live, extra)
        if self.key is not None:
            for module_id, paths in sensitive.items():
                settings = data["registry"][module_id]["settings"]
                for path in paths:
                    for parent, name in _walk(settings, tuple(path)):
                        token = self.key.encrypt(canonical_json(parent[name]).encode())
                        parent[name] = {MARK: token.decode()}
        data["sensitive"] = sensitive
        return data


def recorded(data: Mapping[str, JSON]) -> dict[str, frozenset[tuple[str, ...]]]:
    """The sensitive paths a stored snapshot recorded ({} for snapshots written before)."""
    raw = data.get("sensitive")
    if not isinstance(raw, dict):
        return {}
    return {str(m): frozenset(tuple(str(p) for p in path) for path in v) for m, v in raw.items()}


class Undecryptable(Exception):
    """A snapshot holds encrypted values the current key cannot decrypt."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unseal(data: Mapping[str, JSON], key: Fernet | None) -> tuple[ClientLive, bool]:
    """The snapshot as it was live, and whether it held encrypted values.

    Raises:
        Undecryptable: it holds encrypted values and the key is missing or another one.
    """
    plain, sealed = _decrypted(data, key)
    return ClientLive.from_json(plain), sealed


def _decrypted(data: Mapping[str, JSON], key: Fernet | None) -> tuple[dict[str, JSON], bool]:
    registry = data.get("registry") or {}
    sealed = False
    copy = {**data, "registry": {m: dict(row) for m, row in registry.items()}}
    for module_id, paths in recorded(data).items():
        row = copy["registry"].get(module_id)
        if row is None:
            continue
        settings = _copy(row.get("settings") or {})
        row["settings"] = settings
        for path in paths:
            for parent, name in _walk(settings, path):
                if not _is_sealed(parent[name]):
                    continue
                sealed = True
                if key is None:
                    raise Undecryptable(f"{KEY_ENV} is not set")
                from cryptography.fernet import InvalidToken

                try:
                    parent[name] = _loads(key.decrypt(parent[name][MARK].encode()))
                except (InvalidToken, ValueError, TypeError):
                    raise Undecryptable(
                        f"{KEY_ENV} does not decrypt them (not the key they were written with)"
                    ) from None
    return copy, sealed


def reveal(data: Mapping[str, JSON], key: Fernet | None, live: ClientLive) -> ClientLive:
    """For drift: the snapshot decrypted; where it cannot be, the encrypted values stand for
    what `live` holds there (drift of those values cannot be seen without the key)."""
    try:
        return unseal(data, key)[0]
    except Undecryptable as exc:
        if exc.reason not in _warned:  # once per process, not once per client
            _warned.add(exc.reason)
            log.warning("drift: encrypted sensitive values are not compared: %s", exc.reason)
    plain = _copy(dict(data))
    current = live.to_json()["registry"]
    for module_id, paths in recorded(data).items():
        row = (plain.get("registry") or {}).get(module_id)
        if row is None:
            continue
        for path in paths:
            for parent, name in _walk(row.get("settings") or {}, path):
                if _is_sealed(parent[name]):
                    now = [
                        p[n] for p, n in _walk((current.get(module_id) or {}).get("settings"), path)
                    ]
                    if len(now) == 1:
                        parent[name] = now[0]
                    else:  # not (or not once) in live: absent, as live has it
                        del parent[name]
    return ClientLive.from_json(plain)


def _copy(value: JSON) -> JSON:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _loads(raw: bytes) -> JSON:
    return json.loads(raw.decode())
