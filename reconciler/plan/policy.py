"""Policy evaluation over planned changes (policies/*.yaml, issue 16): pure, like all of plan/.

The rules come compiled from desired/policy.py; here they are only asked, per client with
changes, whether each change breaks them. What a rule sees is `change_view` and `client_view`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from reconciler.errors import Location
from reconciler.model import JSON, ClientDesired
from reconciler.plan.model import ABSENT, SENSITIVE, Change, ChangeKind, ClientPlan
from reconciler.plan.rows import change_row
from reconciler.plan.violation import Effect, Violation


class PolicyRule(Protocol):
    """A compiled rule (desired/policy.py `Rule`)."""

    @property
    def id(self) -> str: ...

    @property
    def effect(self) -> Effect: ...

    @property
    def message(self) -> str: ...

    @property
    def location(self) -> Location: ...

    @property
    def kinds(self) -> frozenset[str] | None:
        """The change kinds the rule can match at all; None for any kind."""
        ...

    def applies_to(self, client: ClientDesired) -> bool: ...

    def matches(self, change: Mapping[str, JSON], client: Mapping[str, JSON]) -> bool | str:
        """True when the change breaks the rule; a string is an evaluation error."""
        ...


def _value(value: JSON, sensitive: bool) -> JSON:
    if value is ABSENT:
        return None
    return SENSITIVE if sensitive else value


def change_view(change: Change) -> dict[str, JSON]:
    """The CEL variable `change`: one planned change, sensitive values masked."""
    op = "add" if change.old is ABSENT else "remove" if change.new is ABSENT else "change"
    return {
        "kind": str(change.kind),
        "module": change.module,
        "path": list(change.path),
        "op": op,
        "old": _value(change.old, change.sensitive),
        "new": _value(change.new, change.sensitive),
        "stores": sorted(change.stores),
        "informational": change.informational,
        "sensitive": change.sensitive,
    }


def client_view(client: ClientDesired) -> dict[str, JSON]:
    """The CEL variable `client`: the resolved client the change belongs to."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "file": client.file,
        "strategy": client.strategy,
        "profiles": list(client.profiles),
        "modules": sorted(m for m, d in client.modules.items() if d.enabled),
    }


def _shown(change: Change) -> str:
    row = change_row(change)
    return f"{row.symbol} {row.subject} {row.detail}"


def _by_kind(rules: Sequence[PolicyRule]) -> dict[str, list[PolicyRule]]:
    """Rules per change kind: a change is only shown the rules that can match its kind."""
    return {
        str(kind): [r for r in rules if r.kinds is None or str(kind) in r.kinds]
        for kind in ChangeKind
    }


def evaluate_client(
    rules: Sequence[PolicyRule],
    client: ClientDesired,
    plan: ClientPlan,
    indexes: dict[tuple[PolicyRule, ...], dict[str, list[PolicyRule]]] | None = None,
) -> list[Violation]:
    """Every (rule, change) pair of one client's plan where the change breaks the rule."""
    applicable = tuple(r for r in rules if r.applies_to(client))
    if not applicable or not plan.changes:
        return []
    by_kind = indexes.get(applicable) if indexes is not None else None
    if by_kind is None:
        by_kind = _by_kind(applicable)
        if indexes is not None:
            indexes[applicable] = by_kind
    who = client_view(client)
    found: list[Violation] = []
    for change in plan.changes:
        candidates = by_kind[str(change.kind)]
        if not candidates:
            continue
        what = change_view(change)
        for rule in candidates:
            verdict = rule.matches(what, who)
            if verdict is False:
                continue
            message = rule.message
            if isinstance(verdict, str):  # fail closed: a rule that cannot decide is broken
                message = f"{message} (the expression failed: {verdict})"
            found.append(
                Violation(
                    client_id=client.client_id,
                    client_name=client.name,
                    policy=rule.id,
                    effect=rule.effect,
                    message=message,
                    module=change.module,
                    change=_shown(change),
                    location=rule.location,
                )
            )
    return found


def evaluate(
    rules: Sequence[PolicyRule],
    clients: Mapping[str, ClientDesired],
    plans: Iterable[ClientPlan],
) -> list[Violation]:
    """The violations of every client plan (clients looked up by id)."""
    if not rules:
        return []
    found: list[Violation] = []
    indexes: dict[tuple[PolicyRule, ...], dict[str, list[PolicyRule]]] = {}
    for plan in plans:
        client = clients.get(plan.client_id)
        if client is not None:
            found.extend(evaluate_client(rules, client, plan, indexes))
    return found
