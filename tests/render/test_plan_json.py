"""A plan's streamed JSON is byte for byte json.dumps of `Plan.to_json()`, whatever its values
(the fast encoder is used only where it writes the same bytes)."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

from reconciler.model import JSON
from reconciler.plan.model import ABSENT, Change, ChangeKind, ClientPlan, Plan
from reconciler.render import write

TRICKY: list[JSON] = [
    "plain",
    "é😀 line\u2028separator next\x85line \r\n\t\x1f\x7f",
    1e16,
    0.1,
    1e-05,
    float("nan"),
    float("inf"),
    2**64,
    -(2**63) - 1,
    2**63 - 1,
    {"nested": {"deep": [1, 2.5, {"x": None}]}, "é": True},
    [],
    {},
]


def reference(value: Any) -> str:
    """What the plan's JSON was before the fast encoder: the standard library's."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def json_fingerprint(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def client(index: int, values: list[JSON], *, sensitive: bool = False) -> ClientPlan:
    client_id = f"{index:08d}-0000-4000-8000-000000000000"
    changes = [
        Change(
            client_id=client_id,
            module="forms",
            kind=ChangeKind.SETTING,
            path=("k", str(n)),
            old=ABSENT if n % 2 else values[n - 1],
            new=value,
            stores=frozenset({"registry"}),
            sensitive=sensitive and n == 0,
        )
        for n, value in enumerate(values)
    ]
    changes.append(
        Change(
            client_id=client_id,
            module=None,
            kind=ChangeKind.OVERRIDE,
            path=("theme", "primary"),
            old="#000000",
            new=ABSENT,
            stores=frozenset({"legacy"}),
        )
    )
    return ClientPlan.build(
        changes, client_id=client_id, name=f"Clinic é {index}", file="c.yaml", live_fingerprint="f"
    )


def plan_of(*clients: ClientPlan) -> Plan:
    return Plan(clients=clients, unchanged=3, store="sqlite:///x.db", desired_root="d")


def streamed(plan: Plan) -> str:
    out = io.StringIO()
    write(plan, "json", out)
    return out.getvalue()


def test_each_tricky_value_streams_as_json_dumps_writes_it() -> None:
    plans = [client(i, ["a", value]) for i, value in enumerate(TRICKY)]
    plans += [client(100, TRICKY), client(101, TRICKY, sensitive=True), client(102, ["x"])]
    plan = plan_of(*plans)
    assert streamed(plan) == reference(plan.to_json())
    # The document itself is what the standard library makes of the changes.
    for planned in plans:
        data = planned.to_json()
        assert data == planned.json_document()[0]
        hashed = [c.to_json(hash_sensitive=True) for c in planned.changes]
        assert data["changes_fingerprint"] == json_fingerprint(hashed)
        assert planned.changes_fingerprint() == json_fingerprint(hashed)


def test_plain_flag() -> None:
    assert client(0, ["a", {"b": [1, None, True]}]).plain_json()
    assert not client(0, ["a", 0.5]).plain_json()
    assert not client(0, ["a", 2**64]).plain_json()
    assert client(0, [0.5, "a"], sensitive=True).plain_json()  # shown as "(sensitive)"


def test_line_separators_in_values_stay_inside_their_string() -> None:
    # U+2028 and U+0085 are line breaks to str.splitlines: the indentation of a streamed
    # client must not be inserted after them (it used to be, changing the value).
    plan = plan_of(client(0, ["a\u2028b\x85c"]))
    value = json.loads(streamed(plan))["clients"][0]["changes"][0]["new"]
    assert value == "a\u2028b\x85c"


def test_empty_plan() -> None:
    plan = plan_of()
    assert streamed(plan) == reference(plan.to_json())
