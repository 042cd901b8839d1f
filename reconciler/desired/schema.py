"""The JSON Schemas of the desired-state files (top-level schemas/, shipped in the wheel).

Validators are compiled once per process. Each document is first run through the fast
pre-check (fastcheck.py), each module's settings_schema through metacheck.py; only what they
cannot vouch for meets jsonschema, whose errors become one-line reasons at the offending key or
value (STYLE §5). jsonschema is imported then, not before: a valid tree never imports it.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.desired.fastcheck import Check, Compiler
from reconciler.desired.metacheck import certainly_valid
from reconciler.desired.yamlsafe import JsonPath, YamlFile
from reconciler.errors import Problem, ReconcilerError
from reconciler.model import FILE_KINDS, OUTPUT_KINDS

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

SCHEMA_NAMES = (*FILE_KINDS, *OUTPUT_KINDS)

Finding = tuple[JsonPath, bool, str]  # path, point at the key?, reason
# A secret reference, exactly as model.is_secret_ref says: `{secret: ...}` and nothing else.
SECRET_REF_SCHEMA = {"type": "object", "required": ["secret"], "maxProperties": 1}

_HERE = Path(__file__).resolve().parent


def schema_dir() -> Path:
    """reconciler/schemas in a wheel (a symlink to schemas/ in a checkout), else ../schemas."""
    for candidate in (_HERE.parent / "schemas", _HERE.parent.parent / "schemas"):
        if (candidate / "client.schema.json").is_file():
            return candidate
    raise ReconcilerError(  # pragma: no cover - only a broken installation gets here
        "the JSON Schema files are missing from this installation",
        hint="reinstall module-reconciler",
    )


def schema_text(kind: str) -> str:
    """The JSON Schema of a file kind, or of an output (`plan`: plan --format json), as shipped."""
    if kind not in SCHEMA_NAMES:
        raise ReconcilerError(
            f"unknown schema {kind!r}", hint=f"choose one of: {', '.join(SCHEMA_NAMES)}"
        )
    return (schema_dir() / f"{kind}.schema.json").read_text(encoding="utf-8")


@functools.cache
def _documents() -> dict[str, dict[str, Any]]:
    return {f"{kind}.schema.json": json.loads(schema_text(kind)) for kind in FILE_KINDS}


@functools.cache
def _registry() -> Registry[Any]:
    from referencing import Registry, Resource

    # Schemas refer to each other by file name (`client.schema.json#/$defs/modules`), which
    # also resolves in editors that load them from disk.
    resources = [(name, Resource.from_contents(doc)) for name, doc in _documents().items()]
    return Registry().with_resources(resources)


class Validator:
    """A compiled schema: fast pre-check plus jsonschema for the messages."""

    def __init__(
        self,
        schema: Mapping[str, Any],
        *,
        compiler: Compiler | None = None,
        sensitive: frozenset[tuple[str, ...]] = frozenset(),
    ) -> None:
        compiler = compiler or Compiler()
        self.schema = schema
        self.sensitive = sensitive  # paths whose values never appear in a reason (SPEC §4)
        self.fast: Check = compiler.compile(schema)
        # Also vouches for a secret reference at a sensitive path (`findings_outside`).
        self.fast_refs: Check = (
            compiler.compile(_refs_allowed(schema, sensitive), schema) if sensitive else self.fast
        )
        self._full: Draft202012Validator | None = None  # built when first needed

    def findings(self, instance: Any) -> list[Finding]:
        """Every schema violation of `instance`; [] when valid."""
        if self.fast(instance):
            return []
        try:
            return [
                _redacted(error) if self._is_sensitive(error) else f
                for error in self.full().iter_errors(instance)
                for f in _explain(error)
            ]
        except Exception as exc:  # e.g. an unresolvable $ref in a module's settings_schema
            return [((), False, f"the schema cannot be applied: {_one_line(str(exc))}")]

    def findings_outside(self, instance: Any, refs: Collection[JsonPath]) -> list[Finding]:
        """The schema violations of `instance` but those at or under `refs`, the paths of its
        secret references at sensitive places (secrets.ref_paths): each stands for a value and
        is checked elsewhere."""
        if self.fast(instance) or (refs and self.fast_refs(instance)):
            return []
        return [f for f in self.findings(instance) if not _under(f[0], refs)]

    def full(self) -> Draft202012Validator:
        """The jsonschema validator of this schema (imports jsonschema on first use)."""
        if self._full is None:
            from jsonschema import Draft202012Validator

            self._full = Draft202012Validator(self.schema, registry=_registry())
        return self._full

    def _is_sensitive(self, error: ValidationError) -> bool:
        return bool(self.sensitive) and _is_sensitive_path(
            tuple(error.absolute_path), self.sensitive
        )


@functools.cache
def file_validator(kind: str) -> Validator:
    """The validator of a desired-state file kind (settings, module, profile, client)."""
    docs = _documents()
    return Validator(docs[f"{kind}.schema.json"], compiler=Compiler(docs))


@functools.cache
def secret_ref_validator() -> Validator:
    """The validator of a secret reference (client.schema.json#/$defs/secretRef)."""
    docs = _documents()
    return Validator({"$ref": "client.schema.json#/$defs/secretRef"}, compiler=Compiler(docs))


def check_file(kind: str, yf: YamlFile) -> list[Problem]:
    """Problems of one parsed file against its kind's schema."""
    return [
        yf.problem(path, reason, key=key)
        for path, key, reason in file_validator(kind).findings(yf.data)
    ]


def settings_schema_findings(schema: Mapping[str, Any]) -> list[Finding]:
    """Why a module's settings_schema is not a valid draft 2020-12 schema ([] when it is)."""
    if certainly_valid(schema):
        return []
    return [f for error in _meta().iter_errors(schema) for f in _explain(error)]


@functools.cache
def _meta() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    # The format checker makes `pattern: "("` an error here instead of a crash later.
    return Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


# Readable reasons for the patterns our own schemas use.
_PATTERN_HINTS = {
    "^[a-z0-9][a-z0-9_-]*$": "use lowercase letters, digits, '-' and '_'",
    "^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)"
    "(-[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?(\\+[0-9A-Za-z-]+(\\.[0-9A-Za-z-]+)*)?$": "not an exact "
    "semantic version like 1.2.3",
    # client_id and name (issue 18): they are printed on terminals and in PR comments.
    "^[^\\u0000-\\u001f\\u007f-\\u009f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$": "must "
    "not contain control characters (ESC, newline, tab...) or bidirectional overrides",
}
_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def describe(value: Any) -> str:
    """`an integer (12)`, `a list`, ...: what a YAML value is, briefly."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    kind = {int: "an integer", float: "a number", str: "a string"}.get(type(value), "a value")
    return f"{kind} ({_short(value)})"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(error: ValidationError) -> Iterator[Finding]:
    """One jsonschema error as findings, pointed at the key or value a person must edit."""
    path: JsonPath = tuple(error.absolute_path)
    instance, kw, expected = error.instance, error.validator, error.validator_value
    schema = error.schema if isinstance(error.schema, dict) else {}
    if kw == "additionalProperties" and expected is False and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for key in sorted(instance):
            if key in known or any(_search(p, key) for p in schema.get("patternProperties", {})):
                continue
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(known)}"
            yield (*path, key), True, f"unknown key {key!r}{hint}"
        return
    if kw == "required" and isinstance(instance, dict):
        for key in expected:
            if key not in instance:
                yield path, False, f"missing required key {key!r}"
        return
    if "propertyNames" in error.relative_schema_path and isinstance(instance, str):
        reason = _PATTERN_HINTS.get(expected, _one_line(error.message))
        yield (*path, instance), True, f"invalid key {instance!r}: {reason}"
        return
    if kw == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        yield path, False, f"expected {wanted}, got {describe(instance)}"
        return
    if kw == "enum":
        yield path, False, f"{_short(instance)} is not one of: {', '.join(map(str, expected))}"
        return
    if kw == "maxLength" and isinstance(instance, str):
        reason = f"{_short(instance)} is {len(instance)} characters long; at most {expected}"
        yield path, False, reason
        return
    if kw == "pattern":
        hint = _PATTERN_HINTS.get(expected, f"does not match the pattern {expected}")
        yield path, False, f"{_short(instance)}: {hint}"
        return
    yield path, False, _one_line(error.message)


def _refs_allowed(schema: Mapping[str, Any], sensitive: Collection[tuple[str, ...]]) -> Any:
    """`schema` where each sensitive property (a `properties` chain from the root, as
    plan.mask.schema_sensitive_paths finds them) also accepts a secret reference: the schema
    jsonschema would find nothing outside the references against. Other subschemas are the
    same objects, and `$ref`s still point into the original."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return schema
    changed = dict(properties)
    for name, sub in properties.items():
        if not isinstance(sub, dict):
            continue
        key = str(name)
        deeper = [path[1:] for path in sensitive if len(path) > 1 and path[0] == key]
        new = _refs_allowed(sub, deeper) if deeper else sub
        if (key,) in sensitive:
            new = {"anyOf": [new, SECRET_REF_SCHEMA]}
        changed[name] = new
    return {**schema, "properties": changed}


def _under(path: JsonPath, refs: Collection[JsonPath]) -> bool:
    return any(tuple(path[: len(r)]) == tuple(r) for r in refs)


def _is_sensitive_path(path: JsonPath, sensitive: frozenset[tuple[str, ...]]) -> bool:
    parts = tuple(str(p) for p in path)
    return any(parts[: len(s)] == s for s in sensitive)


def _redacted(error: ValidationError) -> Finding:
    """A finding about a sensitive value that names the rule it breaks, never the value."""
    path: JsonPath = tuple(error.absolute_path)
    kw, expected = error.validator, error.validator_value
    if kw == "type":
        names = [expected] if isinstance(expected, str) else list(expected)
        wanted = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        got = describe(error.instance).split(" (")[0]
        return path, False, f"expected {wanted}, got {got} (sensitive value not shown)"
    rule = _short(expected) if kw not in ("const", "enum") else "its allowed values"
    return path, False, f"sensitive value (not shown) does not satisfy {kw}: {rule}"


def _search(pattern: str, key: str) -> bool:
    return re.search(pattern, key) is not None


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 200 else text[:197] + "..."
