"""A fast yes/maybe pre-check that a module's settings_schema is a valid draft 2020-12 schema.

`certainly_valid(schema)` is True only when jsonschema's meta-schema check (with its format
checker, as `schema.settings_schema_findings` runs it) would find nothing; False means "ask
jsonschema", which stays the authority and writes the messages. It models the keywords settings
schemas use (type, properties, required, enum, bounds, pattern, combinators...); any other
keyword of the draft 2020-12 vocabularies answers False. Keywords of no vocabulary (`sensitive`)
are annotations the meta-schema never looks at. This keeps jsonschema, ~0.1 s to import, out of
a process whose desired state is valid (issue 15).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Every property of the draft 2020-12 meta-schema and its vocabularies (tests compare this with
# jsonschema_specifications): values under any other key are not validated at all.
META_KEYWORDS = frozenset(
    {
        "$anchor",
        "$comment",
        "$defs",
        "$dynamicAnchor",
        "$dynamicRef",
        "$id",
        "$recursiveAnchor",
        "$recursiveRef",
        "$ref",
        "$schema",
        "$vocabulary",
        "additionalProperties",
        "allOf",
        "anyOf",
        "const",
        "contains",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "default",
        "definitions",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "deprecated",
        "description",
        "else",
        "enum",
        "examples",
        "exclusiveMaximum",
        "exclusiveMinimum",
        "format",
        "if",
        "items",
        "maxContains",
        "maxItems",
        "maxLength",
        "maxProperties",
        "maximum",
        "minContains",
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
        "readOnly",
        "required",
        "then",
        "title",
        "type",
        "unevaluatedItems",
        "unevaluatedProperties",
        "uniqueItems",
        "writeOnly",
    }
)
_SIMPLE_TYPES = frozenset({"array", "boolean", "integer", "null", "number", "object", "string"})


def _number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _count(value: Any) -> bool:
    return type(value) is int and value >= 0


def _regex(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        re.compile(value)
    except Exception:  # re.error, or anything else: jsonschema decides
        return False
    return True


def _type(value: Any) -> bool:
    if type(value) is str:
        return value in _SIMPLE_TYPES
    return (
        type(value) is list
        and len(value) > 0
        and all(type(v) is str and v in _SIMPLE_TYPES for v in value)
        and len(set(value)) == len(value)
    )


def _strings(value: Any) -> bool:
    return (
        type(value) is list and all(type(v) is str for v in value) and len(set(value)) == len(value)
    )


def _schemas(value: Any) -> bool:
    return type(value) is list and len(value) > 0 and all(certainly_valid(v) for v in value)


def _members(value: Any) -> bool:
    return type(value) is dict and all(certainly_valid(v) for v in value.values())


def _pattern_members(value: Any) -> bool:
    return _members(value) and all(_regex(k) for k in value)


def _anything(_: Any) -> bool:
    return True


_KEYWORDS: dict[str, Callable[[Any], bool]] = {
    "type": _type,
    "properties": _members,
    "patternProperties": _pattern_members,
    "additionalProperties": lambda v: certainly_valid(v),
    "propertyNames": lambda v: certainly_valid(v),
    "items": lambda v: certainly_valid(v),
    "not": lambda v: certainly_valid(v),
    "allOf": _schemas,
    "anyOf": _schemas,
    "oneOf": _schemas,
    "required": _strings,
    "enum": lambda v: type(v) is list,
    "const": _anything,
    "default": _anything,
    "examples": lambda v: type(v) is list,
    "minimum": _number,
    "maximum": _number,
    "exclusiveMinimum": _number,
    "exclusiveMaximum": _number,
    "minLength": _count,
    "maxLength": _count,
    "minItems": _count,
    "maxItems": _count,
    "minProperties": _count,
    "maxProperties": _count,
    "uniqueItems": lambda v: type(v) is bool,
    "pattern": _regex,
    "format": lambda v: type(v) is str,
    "title": lambda v: type(v) is str,
    "description": lambda v: type(v) is str,
    "$comment": lambda v: type(v) is str,
    "deprecated": lambda v: type(v) is bool,
    "readOnly": lambda v: type(v) is bool,
    "writeOnly": lambda v: type(v) is bool,
}


def certainly_valid(schema: Any) -> bool:
    """True when `schema` is certainly a valid draft 2020-12 schema; False: ask jsonschema."""
    if type(schema) is bool:
        return True
    if type(schema) is not dict:
        return False
    for key, value in schema.items():
        if key not in META_KEYWORDS:
            continue  # an annotation of no vocabulary (`sensitive`): never validated
        check = _KEYWORDS.get(key)
        if check is None or not check(value):
            return False
    return True
