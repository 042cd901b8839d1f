"""desired/policy.py and policy_guards.py: compiled rules decide exactly as CEL does, with the
guards and the memo on the fields a rule reads."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest

from reconciler.desired.policy import Rule, compile_rules
from reconciler.desired.yamlsafe import parse

EXPRESSIONS = [
    'change.kind == "disable" && change.module in ["integrations", "email-integration"]',
    'change.kind == "setting" && change.path == ["retention_days"] && change.new < 30',
    'change.new == null && change.kind == "version"',
    'change.sensitive && change.op == "remove"',
    'change.new == 5 && change.kind == "setting"',
    'change.new == true || change.kind == "enable"',
    '"enterprise" in client.profiles && client.strategy == "replace"',
    'change.informational == false && change.kind in ["enable", "disable"]',
    '"x" == change.module && size(change.path) > 0',
    'change.new in ["5", "a"] && change.kind == "setting"',
    'change.new == "5" && change.op == "add"',
    'change.new == false || change.new == ["a"]',
    'change.new == ["a"] && change.op == "add"',
    'change.new == false && change.op == "add"',
]
CHANGES = [
    {
        "kind": kind,
        "module": module,
        "path": path,
        "op": op,
        "old": None,
        "new": new,
        "stores": ["legacy"],
        "informational": informational,
        "sensitive": sensitive,
    }
    for kind, module, path, new, op, informational, sensitive in itertools.product(
        ["enable", "disable", "setting", "version"],
        ["integrations", "x", None],
        [[], ["retention_days"]],
        [None, 5, 5.0, True, False, "5", ["a"], {"a": 1}],
        ["add", "remove"],
        [False, True],
        [False, True],
    )
]
CLIENTS = [
    {"client_id": "c1", "name": "c", "file": "f", "strategy": s, "profiles": p, "modules": []}
    for s, p in [("merge", []), ("replace", ["enterprise"]), ("merge", ["growth"]), ("replace", [])]
]


def _rules() -> tuple[Rule, ...]:
    text = "rules:\n" + "".join(
        f"  - id: r{i}\n    effect: warn\n    message: m\n    expression: '{e}'\n"
        for i, e in enumerate(EXPRESSIONS)
    )
    yf, problems = parse("policies/p.yaml", text.encode())
    assert yf is not None
    assert problems == []
    rules, problems = compile_rules([yf], ["enterprise", "growth"])
    assert problems == []
    return rules


def test_guards_come_from_plain_and_chains_only() -> None:
    found = {r.id: [(v, n) for v, n, _, _ in r.guards] for r in _rules()}
    assert found == {
        "r0": [("change", "kind"), ("change", "module")],
        "r1": [("change", "kind"), ("change", "path")],
        "r2": [("change", "new"), ("change", "kind")],
        "r3": [("change", "sensitive"), ("change", "op")],
        "r4": [("change", "new"), ("change", "kind")],
        "r5": [],  # an || decides nothing on its own
        "r6": [("client", "strategy")],
        "r7": [("change", "informational"), ("change", "kind")],
        "r8": [("change", "module")],
        "r9": [("change", "new"), ("change", "kind")],
        "r10": [("change", "new"), ("change", "op")],
        "r11": [],
        "r12": [("change", "new"), ("change", "op")],
        "r13": [("change", "new"), ("change", "op")],
    }


@pytest.mark.parametrize("index", range(len(EXPRESSIONS)))
def test_guarded_and_memoised_rules_decide_as_plain_cel(index: int) -> None:
    rule = _rules()[index]
    plain = dataclasses.replace(rule, guards=(), _memo={}, _program=None, _client=None)
    verdicts: dict[Any, int] = {}
    for change, client in zip(CHANGES, itertools.cycle(CLIENTS), strict=False):
        expected = plain._run(change, client)  # CEL alone, no guard, no memo
        assert rule.matches(change, client) == expected, (rule.expression, change, client)
        verdicts[expected if isinstance(expected, bool) else "error"] = 1
    assert True in verdicts  # the grid reaches both answers
    assert False in verdicts
