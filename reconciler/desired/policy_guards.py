"""Guards: a rule's top-level `&&` conjuncts that compare a field with literals
(`change.kind == "disable"`, `change.module in ["a", "b"]`, `change.new == null`), checked in
Python before CEL runs. A guard only ever answers "false" where CEL would: `false && x` is
false in CEL whatever `x` is (errors included), and a guard rejects only when the field and
every literal are of the same type, where CEL equality is plain value equality. Everything
else is left to CEL, so a guarded rule decides exactly as the unguarded one (tested).

At 10,000 clients a plan holds hundreds of thousands of changes; most rules name the kind and
module they are about, so most (rule, change) pairs are settled here in a microsecond instead
of a CEL evaluation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from lark import Token, Tree

# (variable, field, the literals it may equal, their one type): lists are tuples of strings.
Guard = tuple[str, str, frozenset[Any], type]

_WRAPPERS = frozenset(
    {"expr", "conditionalor", "conditionaland", "relation", "addition", "multiplication"}
    | {"unary", "member", "primary"}
)
_PLAIN_STRING = re.compile(r"""^(?:"[^"\\\n]*"|'[^'\\\n]*')$""")
_MISSING = object()


def _unwrap(node: Any) -> Any:
    while isinstance(node, Tree) and node.data in _WRAPPERS and len(node.children) == 1:
        node = node.children[0]
    return node


def _conjuncts(tree: Tree[Any]) -> list[Any]:
    node: Any = tree
    while isinstance(node, Tree) and node.data in ("expr", "conditionalor"):
        if len(node.children) != 1:
            return [node]
        node = node.children[0]
    found: list[Any] = []

    def flatten(part: Any) -> None:
        if isinstance(part, Tree) and part.data == "conditionaland" and len(part.children) == 2:
            flatten(part.children[0])
            flatten(part.children[1])
        elif isinstance(part, Tree) and part.data == "conditionaland" and len(part.children) == 1:
            flatten(part.children[0])
        else:
            found.append(part)

    flatten(node)
    return found


def _field(node: Any, variables: tuple[str, ...]) -> tuple[str, str] | None:
    node = _unwrap(node)
    if not (isinstance(node, Tree) and node.data == "member_dot" and len(node.children) == 2):
        return None
    base = _unwrap(node.children[0])
    if isinstance(base, Tree) and base.data == "ident" and len(base.children) == 1:
        name = str(base.children[0])
        if name in variables:
            return name, str(node.children[1])
    return None


def _literal(node: Any) -> tuple[bool, Any]:
    node = _unwrap(node)
    if not (isinstance(node, Tree) and node.data == "literal" and len(node.children) == 1):
        return False, None
    token = node.children[0]
    if not isinstance(token, Token):
        return False, None
    text = str(token)
    if token.type == "STRING_LIT" and _PLAIN_STRING.match(text):
        return True, text[1:-1]
    if token.type == "INT_LIT" and text.isdigit():
        return True, int(text)
    if token.type == "BOOL_LIT":
        return True, text == "true"
    if token.type == "NULL_LIT":
        return True, None
    return False, None


def _list(node: Any) -> tuple[Any, ...] | None:
    node = _unwrap(node)
    if not (isinstance(node, Tree) and node.data == "list_lit"):
        return None
    items = node.children[0].children if node.children else []
    values = []
    for item in items:
        ok, value = _literal(item)
        if not ok:
            return None
        values.append(value)
    return tuple(values)


def _guard(variable: str, name: str, literals: tuple[Any, ...]) -> Guard | None:
    """A guard when every literal has one type CEL compares as Python does, else None."""
    kinds = {type(v) for v in literals}
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    if kind is list:
        if not all(type(x) is str for v in literals for x in v):
            return None
        return variable, name, frozenset(tuple(v) for v in literals), list
    if kind in (str, bool, int, type(None)):
        return variable, name, frozenset(literals), kind
    return None


def guards(tree: Tree[Any], variables: tuple[str, ...]) -> tuple[Guard, ...]:
    """The guards of a compiled expression (none when it is not a plain `&&` chain)."""
    found: list[Guard | None] = []
    for part in _conjuncts(tree):
        bare = _field(part, variables)  # `change.sensitive && ...`: false unless it is true
        if bare is not None:
            found.append(_guard(*bare, (True,)))
            continue
        if not (isinstance(part, Tree) and part.data == "relation" and len(part.children) == 2):
            continue
        head, rhs = part.children
        if not (isinstance(head, Tree) and len(head.children) == 1):
            continue
        lhs = head.children[0]
        if head.data == "relation_eq":
            for one, other in ((lhs, rhs), (rhs, lhs)):
                field = _field(one, variables)
                if field is None:
                    continue
                ok, value = _literal(other)
                listed = _list(other)
                if ok:
                    found.append(_guard(*field, (value,)))
                elif listed is not None:
                    found.append(_guard(*field, (list(listed),)))
                break
        elif head.data == "relation_in":
            field = _field(lhs, variables)
            listed = _list(rhs)
            if field is not None and listed is not None:
                found.append(_guard(*field, listed))
    return tuple(g for g in found if g is not None)


# Literal type -> value types that cel-python compares with it as plainly false (not an error):
# `"a" == null`, `null == "a"`, `true == "a"`, `null == ["a"]` are false; numbers against
# null, strings or bools are errors there, so they are left to CEL.
_FALSE_ACROSS: dict[type, tuple[type, ...]] = {
    type(None): (str, bool, list, dict),
    str: (type(None), bool),
    bool: (type(None), str),
    list: (type(None),),
}


def rejects(rule_guards: tuple[Guard, ...], views: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when a guard proves the rule false for these variables: the field equals none of
    the literals, where cel-python's == is known to say false (the test compares both)."""
    for variable, name, allowed, kind in rule_guards:
        value: Any = views[variable].get(name, _MISSING)
        if type(value) is not kind:
            if type(value) in _FALSE_ACROSS.get(kind, ()):
                return True
            continue  # absent, or a type CEL may answer with an error: CEL decides
        if kind is list:
            items: list[Any] = views[variable][name]
            if not all(type(x) is str for x in items):
                continue
            value = tuple(items)
        if value not in allowed:
            return True
    return False
