"""A fast yes/maybe pre-check for JSON Schema, so jsonschema only runs on likely-invalid data.

`compile_check(schema)` returns a function that answers True only when the instance is
certainly valid; False means "ask jsonschema" (which stays the authority and writes the
messages). Keywords it does not model (oneOf, not, if, multipleOf, ...) answer False, which is
always safe. This keeps `validate` on 10,000 clients near the YAML parse floor (issue 3).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]
# Keywords that validate (anything else is an annotation, which jsonschema ignores too): those
# of jsonschema's Draft202012Validator.VALIDATORS but `format`, an annotation only. A literal,
# so that importing this module does not import jsonschema (a test compares the two).
VALIDATING = frozenset(
    {
        "$dynamicRef",
        "$ref",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "contains",
        "dependentRequired",
        "dependentSchemas",
        "enum",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "if",
        "items",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minItems",
        "minLength",
        "minProperties",
        "minimum",
        "multipleOf",
        "not",
        "oneOf",
        "pattern",
        "patternProperties",
        "prefixItems",
        "properties",
        "propertyNames",
        "required",
        "type",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
    }
)
_MODELED = frozenset(
    {
        "$ref",
        "type",
        "enum",
        "const",
        "properties",
        "additionalProperties",
        "patternProperties",
        "propertyNames",
        "required",
        "minProperties",
        "maxProperties",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "allOf",
        "anyOf",
    }
)


def _never(_: Any) -> bool:
    return False


def _always(_: Any) -> bool:
    return True


def _is_number(x: Any) -> bool:
    return (type(x) is int or type(x) is float) and x is not True and x is not False


_TYPES: dict[str, Check] = {
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
    "string": lambda x: type(x) is str,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
    "number": _is_number,
    "integer": lambda x: type(x) is int or (type(x) is float and x.is_integer()),
}


class Compiler:
    """Compiles schemas that may `$ref` each other (by file name) into checks."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.documents = dict(documents or {})
        self._memo: dict[int, Check] = {}

    def compile(self, schema: Any, doc: Mapping[str, Any] | None = None) -> Check:
        """A check for `schema`; `doc` is the document its local `#/...` refs point into."""
        if schema is True:
            return _always
        if schema is False or not isinstance(schema, dict):
            return _never
        memo = self._memo.get(id(schema))
        if memo is not None:
            return memo
        cell: list[Check] = [_never]
        self._memo[id(schema)] = lambda x: cell[0](x)  # refs may recurse into this schema
        cell[0] = self._build(schema, schema if doc is None else doc)
        self._memo[id(schema)] = cell[0]
        return cell[0]

    def _ref(self, ref: str, doc: Mapping[str, Any]) -> Check:
        name, _, pointer = ref.partition("#")
        target: Any = self.documents.get(name) if name else doc
        if target is None:
            return _never
        root = target
        for part in [p for p in pointer.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, dict) or part not in target:
                return _never
            target = target[part]
        return self.compile(target, root)

    def _build(self, s: dict[str, Any], doc: Mapping[str, Any]) -> Check:
        if any(k in VALIDATING and k not in _MODELED for k in s):
            return _never
        checks: list[Check] = []
        if "$ref" in s:
            checks.append(self._ref(s["$ref"], doc))
        if "type" in s:
            names = [s["type"]] if isinstance(s["type"], str) else list(s["type"])
            tests = [_TYPES.get(n, _never) for n in names]
            checks.append(tests[0] if len(tests) == 1 else lambda x: any(t(x) for t in tests))
        if "enum" in s or "const" in s:
            values = s["enum"] if "enum" in s else [s["const"]]
            if not all(type(v) is str for v in values):
                return _never  # JSON equality (1 == 1.0, True != 1) is jsonschema's job
            allowed = frozenset(values)
            checks.append(lambda x: type(x) is str and x in allowed)
        checks.extend(self._object(s, doc))
        checks.extend(self._array(s, doc))
        checks.extend(_scalar(s))
        if "allOf" in s:
            checks.append(_all_of([self.compile(sub, doc) for sub in s["allOf"]]))
        if "anyOf" in s:
            subs = tuple(self.compile(sub, doc) for sub in s["anyOf"])
            checks.append(lambda x: any(c(x) for c in subs))
        return _all_of(checks)

    def _object(self, s: dict[str, Any], doc: Mapping[str, Any]) -> list[Check]:
        keys = ("properties", "additionalProperties", "patternProperties", "propertyNames")
        out: list[Check] = []
        if any(k in s for k in keys):
            props = {k: self.compile(v, doc) for k, v in s.get("properties", {}).items()}
            patterns = [
                (re.compile(p), self.compile(v, doc))
                for p, v in s.get("patternProperties", {}).items()
            ]
            extra = (
                self.compile(s["additionalProperties"], doc)
                if "additionalProperties" in s
                else _always
            )
            names = self.compile(s["propertyNames"], doc) if "propertyNames" in s else _always

            def check_members(x: Any) -> bool:
                if type(x) is not dict:
                    return True
                for key, value in x.items():
                    if not names(key):
                        return False
                    sub = props.get(key)
                    matched = sub is not None
                    if sub is not None and not sub(value):
                        return False
                    for regex, pattern_check in patterns:
                        if regex.search(key):
                            matched = True
                            if not pattern_check(value):
                                return False
                    if not matched and not extra(value):
                        return False
                return True

            out.append(check_members)
        if "required" in s:
            required = frozenset(s["required"])
            out.append(lambda x: type(x) is not dict or x.keys() >= required)
        low, high = s.get("minProperties", 0), s.get("maxProperties")
        if low or high is not None:
            out.append(
                lambda x: (
                    type(x) is not dict or (low <= len(x) and (high is None or len(x) <= high))
                )
            )
        return out

    def _array(self, s: dict[str, Any], doc: Mapping[str, Any]) -> list[Check]:
        out: list[Check] = []
        if "items" in s:
            item = self.compile(s["items"], doc)

            def each(x: Any) -> bool:
                if type(x) is list:
                    for v in x:
                        if not item(v):
                            return False
                return True

            out.append(each)
        low, high = s.get("minItems", 0), s.get("maxItems")
        if low or high is not None:
            out.append(
                lambda x: (
                    type(x) is not list or (low <= len(x) and (high is None or len(x) <= high))
                )
            )
        if s.get("uniqueItems") is True:
            # Only strings are cheap to compare by JSON equality; anything else: ask jsonschema.
            out.append(
                lambda x: (
                    type(x) is not list
                    or (all(type(v) is str for v in x) and len(set(x)) == len(x))
                )
            )
        return out


def _all_of(checks: list[Check]) -> Check:
    """One check that passes when every one of `checks` does (a loop beats all(genexpr))."""
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    frozen = tuple(checks)

    def every(x: Any) -> bool:
        for check in frozen:  # noqa: SIM110 - a plain loop is faster on this hot path
            if not check(x):
                return False
        return True

    return every


def _scalar(s: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    bounds = [
        (k, s[k]) for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in s
    ]
    if bounds:
        if not all(_is_number(v) for _, v in bounds):
            return [_never]
        lo = max([v for k, v in bounds if k == "minimum"], default=None)
        hi = min([v for k, v in bounds if k == "maximum"], default=None)
        xlo = max([v for k, v in bounds if k == "exclusiveMinimum"], default=None)
        xhi = min([v for k, v in bounds if k == "exclusiveMaximum"], default=None)

        def in_bounds(x: Any) -> bool:
            if not _is_number(x):
                return True
            return (
                (lo is None or x >= lo)
                and (hi is None or x <= hi)
                and (xlo is None or x > xlo)
                and (xhi is None or x < xhi)
            )

        out.append(in_bounds)
    low, high = s.get("minLength", 0), s.get("maxLength")
    if low or high is not None:
        out.append(
            lambda x: type(x) is not str or (low <= len(x) and (high is None or len(x) <= high))
        )
    if "pattern" in s:
        try:
            regex = re.compile(s["pattern"])
        except (re.error, TypeError):
            return [_never]
        out.append(lambda x: type(x) is not str or regex.search(x) is not None)
    return out
