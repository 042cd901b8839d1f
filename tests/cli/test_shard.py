"""`--shard K/N` on plan, apply and drift: the shards of one N are disjoint and cover the fleet."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients

N = 3


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, list[str]]:
    """The example plus 30 small clients (36 in all, under the example's 50-client limit)."""
    desired = copy_example(tmp_path)
    ids = list(EXAMPLE_IDS.values())
    for i in range(30):
        cid = str(uuid.UUID(int=i + 1, version=4))
        ids.append(cid)
        (desired / "clients" / f"c{i:02}.yaml").write_text(
            f"client_id: {cid}\nprofiles: [foundation]\nmodules:\n"
            f"  forms:\n    settings:\n      max_fields: {10 + i}\n"
        )
    return desired, sorted(ids)


def run(
    capsys: pytest.CaptureFixture[str], verb: str, store: str, desired: Path, *args: str
) -> Any:
    result = invoke(
        capsys, verb, "--store", store, "--dir", str(desired), "--format", "json", *args
    )
    assert result.code in (0, 2), result.err
    return result.json()


def test_shards_split_plan_apply_and_drift(
    fleet: tuple[Path, list[str]], store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    desired, ids = fleet
    add_clients(store_url, ids)
    planned = [
        {c["client_id"] for c in run(capsys, "plan", store_url, desired, "--shard", f"{k}/{N}")["clients"]}
        for k in range(1, N + 1)
    ]  # fmt: skip
    # lakeside-vets is `strategy: preserve`: listed with informational changes only.
    assert sorted(set().union(*planned)) == ids
    assert sum(len(p) for p in planned) == len(ids)
    applied: list[set[str]] = []
    for k in range(1, N + 1):
        report = run(capsys, "apply", store_url, desired, "--yes", "--shard", f"{k}/{N}")
        applied.append({c["client_id"] for c in report["clients"]})
    lakeside = EXAMPLE_IDS["lakeside-vets"]
    assert sorted(set().union(*applied)) == sorted(set(ids) - {lakeside})
    assert sum(len(a) for a in applied) == len(ids) - 1
    assert [a <= p for a, p in zip(applied, planned, strict=True)] == [True] * N
    drifted = [
        run(capsys, "drift", store_url, desired, "--shard", f"{k}/{N}")["clients"]
        for k in range(1, N + 1)
    ]
    seen = [c["client_id"] for shard in drifted for c in shard]
    assert sorted(seen) == ids
    assert {c["client_id"]: c["classes"] for shard in drifted for c in shard} == {
        cid: ["never_applied"] if cid == lakeside else ["in_sync"] for cid in ids
    }
    assert (
        run(capsys, "plan", store_url, desired, "--detailed-exitcode")["summary"]["clients_changed"]
        == 0
    )
