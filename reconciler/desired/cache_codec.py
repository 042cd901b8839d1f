"""What the desired-state cache stores of one client file, and the code it depends on
(issue 15): an outcome as exact JSON, and the hash of the code, schemas and libraries that
computed it."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson

import reconciler
from reconciler.errors import Location, Problem
from reconciler.model import ClientDesired, DesiredModule

_PACKAGE = Path(reconciler.__file__).parent
_LONG_DIGITS = re.compile(rb"\d{19}")
# The code an outcome depends on: a change to any of these files is a different cache key
# (plan/mask.py: the sensitive paths of module schemas, which the catalog takes from it).
_CODE = ("desired/*.py", "model.py", "errors.py", "schemas/*.json", "plan/mask.py")
_LIBRARIES = ("PyYAML", "jsonschema", "semantic-version", "confusable-homoglyphs")


_code_keys: dict[tuple[str, ...], str] = {}


def code_key(patterns: tuple[str, ...] = _CODE) -> str:
    """A hash of the code (the package's files matching `patterns`), schemas and parsing
    libraries that outcomes depend on."""
    key = _code_keys.get(patterns)
    if key is None:
        digest = hashlib.sha1(f"{reconciler.__version__} {sys.version_info[:2]}".encode())
        for pattern in patterns:
            for path in sorted(_PACKAGE.glob(pattern)):
                digest.update(f"{pattern}/{path.name}".encode() + b"\0" + path.read_bytes())
        for name in _LIBRARIES:
            try:
                digest.update(f"{name}={metadata.version(name)}".encode())
            except metadata.PackageNotFoundError:
                digest.update(f"{name}=-".encode())
        key = _code_keys[patterns] = digest.hexdigest()
    return key


def blob_id(raw: bytes) -> str:
    """The git blob id of these bytes: the same key as a `--ref` tree listing gives."""
    return hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()


@dataclass(slots=True)
class Outcome:
    """What reading one client file gave: the resolved client (None when it has problems),
    its problems and warnings, what it claims (client_id, name) and the profiles it uses."""

    client: ClientDesired | None
    problems: list[Problem]
    client_id: str | None
    name: str | None
    profiles: tuple[str, ...]


def _client_json(c: ClientDesired) -> list[Any]:
    """The client without its modules (`_modules_json`: stored apart, decoded on access)."""
    return [c.client_id, c.name, c.file, c.profiles, c.strategy, 0, c.overrides, c.labels]


def _modules_json(c: ClientDesired) -> dict[str, list[Any]]:
    """Each module as [enabled, version, settings, strategy], "" for no strategy of its own (a
    strategy is never empty): most modules' JSON then holds no null (see exact_json)."""
    return {k: [m.enabled, m.version, m.settings, m.strategy or ""] for k, m in c.modules.items()}


def _client(data: list[Any], modules: bytes) -> ClientDesired:
    client_id, name, file, profiles, strategy, _, overrides, labels = data
    return ClientDesired(
        client_id=client_id,
        name=name,
        file=file,
        profiles=tuple(profiles),
        strategy=strategy,
        modules=LazyModules(modules),
        overrides=overrides,
        labels=labels,
    )


class LazyModules(Mapping[str, DesiredModule]):
    """A decoded client's modules, from their JSON when first read and each built on first
    access: a warm plan that the memo answers reads a client's id and file, and only the
    modules with secret references. `refs`: whether they may hold a secret reference at all;
    False when their JSON has no `"secret":` key anywhere (exact_json writes keys as they
    are, compact), so resolving the client's references has nothing to do."""

    __slots__ = ("_built", "_json", "_loaded", "refs")

    def __init__(self, data: bytes) -> None:
        self._json = data
        self._loaded: dict[str, list[Any]] | None = None
        self._built: dict[str, DesiredModule] = {}
        self.refs = b'"secret":' in data

    @property
    def _raw(self) -> dict[str, list[Any]]:
        loaded = self._loaded
        if loaded is None:
            loaded = self._loaded = orjson.loads(self._json)
        return loaded

    def replaced(self, modules: Mapping[str, DesiredModule]) -> LazyModules:
        """These modules with `modules` in place of theirs (resolved secret references); the
        others are still built on access."""
        copy = LazyModules(self._json)
        copy._loaded = self._loaded
        copy._built = {**self._built, **modules}
        return copy

    def __getitem__(self, key: str) -> DesiredModule:
        module = self._built.get(key)
        if module is None:
            enabled, version, settings, strategy = self._raw[key]
            module = self._built[key] = DesiredModule(
                enabled=enabled, version=version, settings=settings, strategy=strategy or None
            )
        return module

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __reduce__(self) -> tuple[type[dict[str, DesiredModule]], tuple[dict[str, DesiredModule]]]:
        return dict, (dict(self.items()),)  # a worker process gets a plain dict


def encode(outcome: Outcome) -> bytes | None:
    """The outcome as JSON, or None when JSON cannot carry it back exactly (a float that is
    not finite, an integer beyond 64 bits, a lone surrogate): such a file is not cached."""
    problems = [
        [p.location.file, p.location.line, p.location.column, p.path, p.reason, p.warning]
        for p in outcome.problems
    ]
    client = None if outcome.client is None else _client_json(outcome.client)
    head = exact_json([client, problems, outcome.client_id, outcome.name, outcome.profiles])
    if head is None or outcome.client is None:
        return head
    # The modules after a newline (which compact JSON never holds): read only when used.
    modules = exact_json(_modules_json(outcome.client))
    return None if modules is None else head + b"\n" + modules


# Types orjson would write as something else than what reads back (a date as a string, a
# dataclass as an object, a str or int subclass as its base type): it refuses them instead.
_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def exact_json(data: Any) -> bytes | None:
    """`data` as compact JSON that orjson reads back exactly, or None when JSON cannot carry
    it (a float that is not finite, an integer beyond 64 bits, a lone surrogate). Written by
    orjson where that is exact: the values are plain JSON types (read from YAML or JSON: no
    UUID or enum, which orjson would write as strings); orjson refuses integers beyond 64
    bits, keys that are not strings and lone surrogates, and writes NaN and the infinities as
    null: data whose JSON holds a null is written by the standard library, which refuses
    those. (What orjson refuses would not read back as it was: it is not cached.)"""
    try:
        payload = orjson.dumps(data, option=_STRICT)
    except orjson.JSONEncodeError:
        return None
    return _exact_stdlib(data) if b"null" in payload else payload


def _exact_stdlib(data: Any) -> bytes | None:
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        payload = text.encode()  # a lone surrogate cannot be UTF-8: UnicodeEncodeError
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    # orjson reads an integer beyond 64 bits as a float: any run of 19+ digits (in a number or
    # a string alike) keeps the data out of the cache.
    return None if _LONG_DIGITS.search(payload) else payload


def decode(payload: bytes) -> Outcome:
    head, _, modules = payload.partition(b"\n")
    client, problems, client_id, name, profiles = orjson.loads(head)
    if client is not None and not modules:
        raise ValueError("a client without its modules")
    return Outcome(
        None if client is None else _client(client, modules),
        [
            Problem(Location(f, line, col), path, reason, w)
            for f, line, col, path, reason, w in problems
        ],
        client_id,
        name,
        tuple(profiles),
    )
