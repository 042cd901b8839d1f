"""YAML 1.1 implicit typing of plain scalars, as PyYAML's SafeLoader does it, JSON values only.

Dates, NaN and infinities have no JSON form and merge keys (`<<`) are not plain data: they raise
NotPlain, which yamlsafe turns into a problem at the scalar.
"""

from __future__ import annotations

import re

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from reconciler.model import JSON

_RESOLVERS: dict[str | None, list[tuple[str, re.Pattern[str]]]] = Resolver.yaml_implicit_resolvers
_CONSTRUCT = SafeConstructor()

# Plain scalars whose implicit type is bool or null (PyYAML's YAML 1.1 resolver, exact words).
EXACT: dict[str, JSON] = {
    **{w: True for w in ("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")},
    **{w: False for w in ("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")},
    **{w: None for w in ("~", "null", "Null", "NULL", "")},
}
MISS = object()
TYPED_START = frozenset("-+.0123456789<=")  # first characters of int, float, date, <<, =
# Longer integers are refused before conversion: Python refuses str<->int past 4300 digits
# (a crash later, in JSON and hashing) and YAML 1.1 sexagesimal `1:2:3:...` is quadratic.
MAX_INT_CHARS = 100


def resolve(value: str) -> JSON:
    """YAML 1.1 implicit typing of a plain scalar, exactly as PyYAML's SafeLoader does it."""
    exact = EXACT.get(value, MISS)
    if exact is not MISS:
        return exact
    if value[0] not in TYPED_START:
        return value
    if value.isascii() and value.isdigit() and (value[0] != "0" or len(value) == 1):
        if len(value) > MAX_INT_CHARS:
            raise NotPlain(_too_long(value))
        return int(value)
    tag = None
    for candidate, regexp in _RESOLVERS.get(value[0], ()):
        if regexp.match(value):
            tag = candidate
            break
    if tag is None:
        return value
    if tag == "tag:yaml.org,2002:int":
        if len(value) > MAX_INT_CHARS:
            raise NotPlain(_too_long(value))
        return _CONSTRUCT.construct_yaml_int(ScalarNode(tag, value))
    if tag == "tag:yaml.org,2002:float":
        number = _CONSTRUCT.construct_yaml_float(ScalarNode(tag, value))
        if number != number or number in (float("inf"), float("-inf")):
            raise NotPlain(f"{value} is not a JSON number; quote it for a string")
        return number
    if tag == "tag:yaml.org,2002:timestamp":
        raise NotPlain(f"{value} would be read as a date/time, which is not plain data; quote it")
    if tag == "tag:yaml.org,2002:merge":
        raise NotPlain("merge keys (<<) are not allowed; write the keys out", soft=False)
    return value  # `=` (the YAML 1.1 "value" type) is kept as the plain string it looks like


def _too_long(value: str) -> str:
    return (
        f"integer of {len(value)} characters is too large (at most {MAX_INT_CHARS}); "
        "quote it for a string"
    )


class NotPlain(Exception):
    """A scalar whose implicit type is not JSON; soft: the data stays usable as a string."""

    def __init__(self, message: str, *, soft: bool = True) -> None:
        super().__init__(message)
        self.soft = soft
