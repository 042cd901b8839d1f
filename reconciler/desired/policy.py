"""Policy files (policies/*.yaml, issue 16): schema-checked, CEL expressions compiled once at
load time, each compile error a problem at the expression's file:line:col.

A rule's expression is CEL (Common Expression Language, as Kubernetes admission policies use),
run by cel-python, which costs about a millisecond per evaluation, so at 10,000 clients CEL
runs rarely: a rule's `field == literal` conjuncts are checked first (policy_guards.py), rules
are only shown changes of the kinds they name, and since CEL is side-effect free a verdict
depends only on the fields of `change` and `client` the rule names: verdicts are memoised on
those. An expression is parsed at load (syntax, unknown variables and fields are problems) and
transpiled to Python on its first evaluation.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError
from lark import Token, Tree

from reconciler.desired.policy_guards import Guard, guards, rejects
from reconciler.desired.schema import check_file
from reconciler.desired.yamlsafe import YamlFile, json_path
from reconciler.errors import Location, Problem
from reconciler.model import JSON, ClientDesired

log = logging.getLogger(__name__)
Effect = Literal["deny", "warn"]  # as plan/violation.py; desired/ does not import plan/
logging.getLogger("celpy").setLevel(logging.CRITICAL)  # its "Internal error" lines are ours to say
VARIABLES = ("change", "client")
# The fields of each variable (plan/policy.py change_view and client_view build them).
FIELDS = {
    "change": (
        "kind",
        "module",
        "path",
        "op",
        "old",
        "new",
        "stores",
        "informational",
        "sensitive",
    ),
    "client": ("client_id", "name", "file", "strategy", "profiles", "modules"),
}
_MACROS = ("all", "exists", "exists_one", "map", "filter")
_TYPE_NAMES = (
    "int",
    "uint",
    "double",
    "bool",
    "string",
    "bytes",
    "list",
    "map",
    "null_type",
    "type",
)
_MEMO_LIMIT = 100_000  # verdicts kept per rule; cleared past this (bounded memory)
_WHOLE = "*"  # the expression uses a variable as a whole: key on all of it


@dataclass(eq=False, slots=True, kw_only=True)
class Rule:
    """One compiled rule; `matches` answers for one change of one client."""

    id: str
    effect: Effect
    message: str
    expression: str
    location: Location
    profiles: tuple[str, ...] = ()
    clients: tuple[str, ...] = ()
    tree: Any = None  # the parsed expression; transpiled on first use (about 50 ms a rule)
    _program: Any = None
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    guards: tuple[Guard, ...] = ()
    _memo: dict[tuple[Any, ...], bool | str] = field(default_factory=dict)
    # The last client view and its key part: a plan asks about many changes of one client in
    # a row (the view is held, so its identity cannot be reused by another object).
    _client: Any = None
    _client_key: tuple[Any, ...] = ()

    @property
    def kinds(self) -> frozenset[str] | None:
        """The change kinds the rule can match (a guard on change.kind), None for any."""
        for variable, name, allowed, kind in self.guards:
            if (variable, name, kind) == ("change", "kind", str):
                return frozenset(allowed)
        return None

    def applies_to(self, client: ClientDesired) -> bool:
        """The rule's scope: any of its profiles, and a client_id or name matching a glob."""
        if self.profiles and not set(self.profiles) & set(client.profiles):
            return False
        if self.clients:
            names = (client.client_id, client.name)
            return any(fnmatch.fnmatchcase(n, g) for g in self.clients for n in names)
        return True

    def matches(self, change: Mapping[str, JSON], client: Mapping[str, JSON]) -> bool | str:
        """True when the change breaks the rule, False when not, an error message otherwise."""
        if self.guards and rejects(self.guards, {"change": change, "client": client}):
            return False
        if client is not self._client:
            self._client, self._client_key = client, _key(client, self.fields["client"])
        key = (*_key(change, self.fields["change"]), *self._client_key)
        verdict = self._memo.get(key)
        if verdict is None:
            verdict = self._run(change, client)
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[key] = verdict
        return verdict

    def _compiled(self) -> Any:
        if self._program is None:
            try:
                self._program = _environment().program(self.tree)
            except Exception as exc:  # a CEL error cel-python finds only when transpiling
                raise CELEvalError(f"the expression cannot be compiled: {exc}") from exc
        return self._program

    def _run(self, change: Mapping[str, JSON], client: Mapping[str, JSON]) -> bool | str:
        activation = {
            "change": json_to_cel(_only(change, self.fields["change"])),
            "client": json_to_cel(_only(client, self.fields["client"])),
        }
        try:
            result = self._compiled().evaluate(activation)
        except (CELEvalError, RecursionError) as exc:
            return _eval_reason(exc)
        if isinstance(result, CELEvalError):
            return _eval_reason(result)
        if not isinstance(result, celtypes.BoolType):
            return f"the expression gave {type(result).__name__}, not a bool"
        return bool(result)


def _only(view: Mapping[str, JSON], names: tuple[str, ...]) -> dict[str, JSON]:
    """The fields a rule reads (converting the rest to CEL values would be wasted)."""
    if names == (_WHOLE,):
        return dict(view)
    return {name: view[name] for name in names if name in view}


def _eval_reason(exc: BaseException) -> str:
    """The innermost message of cel-python's nested ("evaluation error", type, args) errors."""
    args: Any = exc.args
    while len(args) >= 3 and isinstance(args[2], tuple) and args[2]:
        args = args[2]
    text = args[0] if args else str(exc)
    return " ".join(str(text).split())


def _key(view: Mapping[str, JSON], names: tuple[str, ...]) -> tuple[Any, ...]:
    if names == (_WHOLE,):
        return (json.dumps(view, sort_keys=True, default=str),)
    out: list[Any] = []
    for name in names:
        value = view.get(name)
        if value is None or isinstance(value, str | bool | int | float):
            out.append((type(value).__name__, value))
        elif type(value) is list and all(type(v) is str for v in value):
            out.append(("strings", *value))
        else:
            out.append(json.dumps(value, sort_keys=True, default=str))
    return tuple(out)


def _is_ident(value: Any) -> bool:
    return isinstance(value, Token) and value.type == "IDENT"


def unknown_names(tree: Tree[Any]) -> list[str]:
    """Identifiers that are neither a variable, a macro's bound name nor a type name, and
    fields of `change`/`client` that do not exist: reasons, for load time."""
    bound: set[str] = set()
    for node in tree.iter_subtrees():
        if node.data == "member_dot_arg" and len(node.children) == 3:
            method, args = node.children[1], node.children[2]
            head = args.children[0] if isinstance(args, Tree) and args.children else None
            if str(method) in _MACROS and isinstance(head, Tree):
                first = next(head.scan_values(_is_ident), None)
                if first is not None:
                    bound.add(str(first))
    reasons: list[str] = []
    known = {*VARIABLES, *bound, *_TYPE_NAMES}
    for node in tree.iter_subtrees():
        if node.data == "ident" and node.children and str(node.children[0]) not in known:
            name = str(node.children[0])
            reasons.append(f"unknown variable {name!r} (the variables are change and client)")
    for variable, names in referenced(tree).items():
        for name in names:
            if name != _WHOLE and name not in FIELDS[variable]:
                listed = ", ".join(FIELDS[variable])
                reasons.append(f"{variable} has no field {name!r} (it has {listed})")
    return sorted(set(reasons))


def referenced(tree: Tree[Any]) -> dict[str, tuple[str, ...]]:
    """The fields of `change` and `client` an expression reads (`change.kind`), or `*` for a
    variable used otherwise (`change["kind"]`, passed whole): what its verdict depends on."""
    found: dict[str, set[str]] = {name: set() for name in VARIABLES}

    def base_ident(node: Any) -> str | None:
        # member -> primary -> ident -> IDENT token
        while isinstance(node, Tree) and node.data in ("member", "primary", "ident"):
            if len(node.children) != 1:
                return None
            node = node.children[0]
        if isinstance(node, Token) and node.type == "IDENT":
            return str(node)
        return None

    def walk(node: Any) -> None:
        if isinstance(node, Token):
            if node.type == "IDENT" and str(node) in found:
                found[str(node)].add(_WHOLE)
            return
        if node.data == "member_dot" and len(node.children) == 2:
            name = base_ident(node.children[0])
            if name in found:
                found[name].add(str(node.children[1]))
                return
        for child in node.children:
            walk(child)

    walk(tree)
    return {
        name: (_WHOLE,) if _WHOLE in names else tuple(sorted(names))
        for name, names in found.items()
    }


_ENV: celpy.Environment | None = None


def _environment() -> celpy.Environment:
    global _ENV
    if _ENV is None:
        # celpy.Environment() sets the process's recursion limit to 2500 (raising or lowering
        # it); a library must leave that alone, and policy expressions are shallow (a too deep
        # one is an error at load or a failed evaluation, never a crash).
        limit = sys.getrecursionlimit()
        try:
            _ENV = celpy.Environment(runner_class=celpy.CompiledRunner)
        finally:
            sys.setrecursionlimit(limit)
    return _ENV


def compile_rules(
    files: Sequence[YamlFile], profiles: Sequence[str]
) -> tuple[tuple[Rule, ...], list[Problem]]:
    """Rules of every policy file, in file order; problems for bad files, duplicate ids,
    unknown profiles in a scope and CEL expressions that do not compile."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    seen: dict[str, Location] = {}
    for yf in files:
        found = check_file("policy", yf)
        if found:
            problems.extend(found)
            continue
        for index, entry in enumerate(yf.data["rules"]):
            at = ("rules", index)
            rule, found = _compile(yf, at, entry, profiles)
            problems.extend(found)
            if rule is None:
                continue
            first = seen.get(rule.id)
            if first is not None:
                reason = f"rule id {rule.id!r} is used twice (first at {first})"
                problems.append(yf.problem((*at, "id"), reason))
                continue
            seen[rule.id] = rule.location
            rules.append(rule)
    log.debug("policies: %d rules from %d files", len(rules), len(files))
    return tuple(rules), problems


def _compile(
    yf: YamlFile, at: tuple[str | int, ...], entry: Mapping[str, Any], profiles: Sequence[str]
) -> tuple[Rule | None, list[Problem]]:
    problems: list[Problem] = []
    scope = entry.get("scope", {})
    for i, name in enumerate(scope.get("profiles", [])):
        if name not in profiles:
            reason = f"unknown profile {name!r} (no profiles/{name}.yaml)"
            problems.append(yf.problem((*at, "scope", "profiles", i), reason))
    expression = entry["expression"]
    env = _environment()
    try:
        tree = env.compile(expression)
    except CELParseError as exc:
        line, column = getattr(exc, "line", None) or 1, getattr(exc, "column", None) or 1
        written = expression.splitlines() or [expression]
        text = written[min(line, len(written)) - 1]
        reason = (
            f"CEL does not compile: syntax error at column {column} of expression line {line}"
            f" ({text.strip()!r})"
        )
        where = _expression_at(yf, (*at, "expression"), text, line, column)
        problems.append(Problem(where, json_path((*at, "expression")), reason))
        return None, problems
    except Exception as exc:  # cel-python reports a few errors as other exceptions
        reason = f"CEL does not compile: {_first_line(exc)}"
        problems.append(yf.problem((*at, "expression"), reason))
        return None, problems
    unknown = unknown_names(tree)
    if unknown:
        problems.extend(yf.problem((*at, "expression"), reason) for reason in unknown)
        return None, problems
    rule = Rule(
        id=entry["id"],
        effect=entry["effect"],
        message=entry["message"],
        expression=expression,
        location=yf.locate(at),
        profiles=tuple(scope.get("profiles", ())),
        clients=tuple(scope.get("clients", ())),
        tree=tree,
        fields=referenced(tree),
        guards=guards(tree, VARIABLES),
    )
    return rule, problems


def _expression_at(
    yf: YamlFile, at: tuple[str | int, ...], first: str, line: int, column: int
) -> Location:
    """Where the error is: inside a one-line expression written in place, else its start."""
    start = yf.locate(at)
    lines = yf.text.splitlines()
    if line == 1 and 0 < start.line <= len(lines):
        written = lines[start.line - 1][start.column - 1 :]
        quote = written[:1] if written[:1] in "\"'" else ""
        if first and written[len(quote) :].startswith(first):
            return Location(start.file, start.line, start.column + len(quote) + column - 1)
    return start


def _first_line(exc: BaseException) -> str:
    text = str(exc.args[0]) if exc.args else str(exc)
    lines = [line for line in text.splitlines() if line.strip()]
    return " ".join(lines[0].split()) if lines else type(exc).__name__
