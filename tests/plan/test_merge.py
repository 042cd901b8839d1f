"""reconciler/plan/merge.py: shard results round-trip into the unsharded result, and results
that do not belong together are refused with the files named."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reconciler.errors import Location, ReconcilerError
from reconciler.plan.changed import ChangedSince, DeletedClient
from reconciler.plan.drift import ClientDrift, DriftClass, DriftReport
from reconciler.plan.merge import (
    MergedResults,
    Result,
    ShardResult,
    merge,
    read_shard_result,
    shard_result_json,
)
from reconciler.plan.model import ABSENT, Change, ChangeKind, ClientPlan, Plan
from reconciler.plan.violation import Violation
from reconciler.results import ApplyReport, ClientResult

STORE = "postgresql+psycopg://app:***@db/fleet"
COMMIT = "a" * 40


def _client(cid: str, *, secret: bool = False) -> ClientPlan:
    changes = [
        Change(client_id=cid, module="forms", kind=ChangeKind.ENABLE, stores=frozenset({"legacy"})),
        Change(
            client_id=cid, module="support", kind=ChangeKind.ADOPT, stores=frozenset({"registry"})
        ),
        Change(
            client_id=cid,
            module="forms",
            kind=ChangeKind.SETTING,
            path=("max_fields",),
            old=ABSENT,
            new=12,
            stores=frozenset({"registry"}),
        ),
        Change(
            client_id=cid,
            module=None,
            kind=ChangeKind.OVERRIDE,
            path=("theme", "color"),
            old="#fff",
            new=ABSENT,
            stores=frozenset({"legacy"}),
            informational=True,
        ),
    ]
    if secret:
        changes.append(
            Change(
                client_id=cid,
                module="email",
                kind=ChangeKind.SETTING,
                path=("smtp", "password"),
                old="old-secret",
                new="new-secret",
                stores=frozenset({"registry"}),
                sensitive=True,
            )
        )
    return ClientPlan.build(
        changes, client_id=cid, name=f"n-{cid}", file=f"clients/{cid}.yaml", live_fingerprint="f"
    )


def _plan(clients: list[ClientPlan], unchanged: int, violations: tuple[Violation, ...]) -> Plan:
    since = ChangedSince(
        rev="origin/main",
        commit="b" * 40,
        head="working tree",
        paths=("clients/c1.yaml",),
        compared=3,
        changed=("c1", "c2"),
        deleted=(DeletedClient(client_id="gone", name="Gone", file="clients/gone.yaml"),),
        warnings=("something to say",),
    )
    return Plan(
        clients=tuple(clients),
        unchanged=unchanged,
        store=STORE,
        desired_commit=COMMIT,
        desired_root="/srv/desired-state",
        changed_since=since,
        violations=violations,
        adopt_only=True,
    )


def _violation(cid: str, line: int) -> Violation:
    return Violation(
        client_id=cid,
        policy="no-forms",
        effect="warn",
        message="forms is frowned upon",
        module="forms",
        change="+ forms enable",
        location=Location("policies/p.yaml", line, 3),
    )


def _shard(produced: Result, shard: str | None, name: str, **overrides: Any) -> ShardResult:
    doc = shard_result_json(produced, shard=shard, store=STORE, desired_commit=COMMIT)
    doc.update(overrides)
    return read_shard_result(json.loads(json.dumps(doc)), name)


def test_plan_shards_merge_into_the_whole_plan_with_sensitive_fingerprints_kept() -> None:
    c1, c2, c3 = _client("c1", secret=True), _client("c2"), _client("c3", secret=True)
    v1, v3 = _violation("c1", 4), _violation("c3", 2)
    whole = _plan([c1, c2, c3], 5, (v1, v3))
    shards = [
        _shard(_plan([c3], 2, (v3,)), "2/2", "b.json"),
        _shard(_plan([c1, c2], 3, (v1,)), "1/2", "a.json"),
    ]
    merged = merge(shards)
    assert isinstance(merged.result, Plan)
    assert merged.to_json() == {
        **whole.to_json(),
        "merged": {"shards": 2, "files": ["a.json", "b.json"], "run_ids": []},
    }
    assert merged.result.summary == whole.summary
    assert merged.result.changed_since == whole.changed_since
    assert "new-secret" not in json.dumps(merged.to_json())


def test_drift_and_apply_shards_merge() -> None:
    def drift(cid: str, *classes: DriftClass) -> ClientDrift:
        return ClientDrift(
            client_id=cid,
            name=cid,
            classes=frozenset(classes),
            last_run=3,
            drifted_paths=("legacy.modules_enabled",) if DriftClass.DRIFTED in classes else (),
            pending_changes=1 if DriftClass.PENDING in classes else 0,
        )

    a, b = drift("a", DriftClass.DRIFTED, DriftClass.PENDING), drift("b", DriftClass.IN_SYNC)
    whole = DriftReport(clients=(a, b), store=STORE, desired_commit=COMMIT)
    parts = [DriftReport(clients=(c,), store=STORE, desired_commit=COMMIT) for c in (b, a)]
    merged = merge([_shard(parts[0], "2/2", "y"), _shard(parts[1], "1/2", "x")])
    assert merged.result == whole

    applied = ClientResult(client_id="a", outcome="applied")
    stale = ClientResult(client_id="b", outcome="stale", message="plan again")
    reports = [
        ApplyReport(kind="apply", run_id=7, results=(stale,), plan_summary={"clients_changed": 1}),
        ApplyReport(kind="apply", run_id=None, plan_summary={"clients_changed": 0}),
        ApplyReport(
            kind="apply", run_id=5, results=(applied,), plan_summary={"clients_changed": 1}
        ),
    ]
    merged = merge([_shard(r, f"{k}/3", f"apply-{k}") for k, r in enumerate(reports, 1)])
    assert merged == MergedResults(
        result=ApplyReport(
            kind="apply", run_id=None, results=(applied, stale), plan_summary={"clients_changed": 2}
        ),
        shards=3,
        files=("apply-1", "apply-2", "apply-3"),
        run_ids=(7, 5),
    )
    assert not merged.result.ok


def test_an_unsharded_result_merges_alone() -> None:
    report = DriftReport(clients=(), store=STORE, desired_commit=None)
    merged = merge([_shard(report, None, "all.json")])
    assert (merged.result, merged.shards) == (report, 1)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "r.json: not a shard result (kind is not 'shard-result')"),
        ({"kind": "reconciler-plan"}, "r.json: not a shard result (kind is not 'shard-result')"),
        (
            {"kind": "shard-result", "format_version": 99},
            "r.json: shard result format_version 99 is not supported (this reconciler reads 1)",
        ),
        (
            {"kind": "shard-result", "format_version": 1, "result_kind": "status", "result": {}},
            "r.json: shard result of unknown kind 'status'",
        ),
        (
            {
                "kind": "shard-result",
                "format_version": 1,
                "result_kind": "plan",
                "result": {},
                "shard": {"index": 5, "count": 4},
            },
            "r.json: malformed shard {'index': 5, 'count': 4}",
        ),
        (
            {
                "kind": "shard-result",
                "format_version": 1,
                "result_kind": "plan",
                "result": {},
                "shard": "1/4",
            },
            "r.json: malformed shard '1/4'",
        ),
    ],
)
def test_read_refuses_what_is_not_a_shard_result(doc: Any, message: str) -> None:
    with pytest.raises(ReconcilerError) as err:
        read_shard_result(doc, "r.json")
    assert err.value.message == message


def test_merge_refuses_mixed_stores_counts_and_malformed_results() -> None:
    report = DriftReport(clients=(), store=STORE, desired_commit=COMMIT)
    with pytest.raises(ReconcilerError) as err:
        merge([_shard(report, "1/2", "a"), _shard(report, "2/2", "b", store="sqlite:///x.db")])
    assert err.value.message == (
        f"cannot merge results of different stores: a: {STORE}; b: sqlite:///x.db"
    )
    with pytest.raises(ReconcilerError) as err:
        merge([_shard(report, "1/2", "a"), _shard(report, "2/3", "b")])
    assert err.value.message == "cannot merge results of different shard counts: a: 2; b: 3"
    with pytest.raises(ReconcilerError) as err:
        merge([])
    assert err.value.message == "no shard results to merge"
    broken = _shard(report, "1/1", "c", result={"clients": [{"client_id": "x"}]})
    with pytest.raises(ReconcilerError) as err:
        merge([broken])
    assert err.value.message.startswith("malformed shard result among c: KeyError(")
