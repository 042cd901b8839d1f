"""Issue 17: four shards of a Kubernetes Indexed Job, each a separate `reconciler` process with
its own JOB_COMPLETION_INDEX, plan, apply and drift a generated fleet on PostgreSQL; their
`--results` files merge into exactly the unsharded result. Merging and the unsharded runs
need no process of their own: they run in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.gen_fleet import generate
from tests.cli.cli_helpers import Result, invoke
from tests.git_helpers import commit_all, init_repo
from tests.helpers import add_clients, legacy_rows

pytestmark = [pytest.mark.pg, pytest.mark.slow]
SHARDS = 4
CLIENTS = 40  # under the example's max_clients_changed (50), so an unsharded apply could run


@dataclass
class Fleet:
    repo: Path  # a git repository; the desired state is its desired-state/
    store: str
    commit: str
    ids: list[str]
    capsys: pytest.CaptureFixture[str]

    @property
    def common(self) -> tuple[str, ...]:
        return ("--store", self.store, "--dir", str(self.repo / "desired-state"))

    def here(self, verb: str, *args: str) -> Result:
        """`reconciler VERB --store --dir ARGS` in this process."""
        return invoke(self.capsys, verb, *self.common, *args)

    def merge(self, files: list[Path], fmt: str = "json") -> Result:
        return invoke(self.capsys, "merge-results", *map(str, files), "--format", fmt)

    def argv(self, verb: str, *args: str) -> list[str]:
        command = [sys.executable, "-m", "reconciler", verb, *args, *self.common]
        return [*command, "--shard", "auto"]

    def shards(self, verb: str, *args: str, name: str) -> list[Path]:
        """`VERB ARGS --shard auto --results NAME-K.json` in SHARDS processes at once, as the
        pods of an Indexed Job run them; each must succeed (exit 0, or 2 for drift found)."""
        env = {k: v for k, v in os.environ.items() if k != "JOB_COMPLETION_INDEX"}
        env["RECONCILER_SHARDS"] = str(SHARDS)
        files = [self.repo / f"{name}-{index}.json" for index in range(SHARDS)]
        procs = [
            subprocess.Popen(
                [*self.argv(verb, *args), "--results", str(out)],
                cwd=self.repo,
                env={**env, "JOB_COMPLETION_INDEX": str(index)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for index, out in enumerate(files)
        ]
        for proc in procs:
            _, err = proc.communicate(timeout=300)
            assert proc.returncode in (0, 2), err
        return files


@pytest.fixture
def fleet(pg_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Fleet:
    """A git repo holding a generated 40-client fleet, its clients known to the store."""
    repo = init_repo(tmp_path / "repo")
    ids = generate(CLIENTS, repo / "desired-state", seed=17)
    commit = commit_all(repo, "fleet")
    add_clients(pg_store, ids)
    return Fleet(repo=repo, store=pg_store, commit=commit, ids=ids, capsys=capsys)


def without_merged(result: Result) -> Any:
    assert result.code in (0, 2), result.err
    data = result.json()
    data.pop("merged")
    return data


def test_four_indexed_shards_plan_apply_and_drift_like_one_process(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(fleet.repo)  # as the shard processes run: file paths are shown from here
    # plan: the shards' result files, merged, are the unsharded plan in every format.
    files = fleet.shards("plan", name="plan")
    docs = [json.loads(f.read_text()) for f in files]
    assert [d["shard"] for d in docs] == [{"index": k, "count": 4} for k in range(1, 5)]
    assert {(d["result_kind"], d["desired_commit"], d["store"]) for d in docs} == {
        ("plan", fleet.commit, docs[0]["result"]["store"])
    }
    shard_clients = [{c["client_id"] for c in d["result"]["clients"]} for d in docs]
    assert sum(map(len, shard_clients)) == CLIENTS
    assert set().union(*shard_clients) == set(fleet.ids)
    assert "placeholder-not-a-secret" not in "".join(f.read_text() for f in files)
    merged_plan = fleet.merge(files).json()
    assert merged_plan.pop("merged") == {
        "shards": 4,
        "files": [str(f) for f in files],
        "run_ids": [],
    }
    assert merged_plan == fleet.here("plan", "--format", "json").json()
    assert fleet.merge(files, "text").out == (
        fleet.here("plan").out + "Merged from 4 shard results.\n"
    )
    assert fleet.merge(files, "markdown").out == (
        fleet.here("plan", "--format", "markdown").out + "\n_Merged from 4 shard results._\n"
    )

    # drift before any apply: every client never applied, merged as unsharded.
    files = fleet.shards("drift", name="drift-before")
    assert without_merged(fleet.merge(files)) == fleet.here("drift", "--format", "json").json()

    # apply a saved plan in four shards, as the Indexed Job of examples/kubernetes does.
    saved = fleet.here("plan", "--out", str(fleet.repo / "plan.json"))
    assert saved.code == 0, saved.err
    files = fleet.shards("apply", "plan.json", "--yes", name="apply")
    done = fleet.merge(files)
    assert done.code == 0, done.err
    report = done.json()
    writes = {c["client_id"] for c in merged_plan["clients"] if c["writes"]}
    assert {c["client_id"] for c in report["clients"] if c["outcome"] == "applied"} == writes
    assert report["counts"] == {"applied": len(writes), "unchanged": 0, "stale": 0, "failed": 0}
    assert report["plan"] == {"clients_changed": len(writes)}
    run_ids = report["merged"]["run_ids"]
    history = invoke(fleet.capsys, "history", "--store", fleet.store, "--format", "json").json()
    runs = {r["id"]: r for r in history["runs"]}
    assert sorted(runs) == sorted(run_ids)
    assert len(runs) == 4
    assert {r["desired_commit"] for r in runs.values()} == {fleet.commit}
    assert sum(r["clients"] for r in runs.values()) == len(writes)
    assert {r["client_id"] for r in legacy_rows(fleet.store)} >= writes
    assert fleet.merge(files, "text").out.endswith(
        f"Apply (4 runs): {len(writes)} applied, 0 unchanged, 0 refused as stale, 0 failed\n"
        f"Merged from 4 shard results (runs {', '.join(map(str, run_ids))}).\n"
    )

    # Nothing is left to apply, and sharded drift after the apply merges as unsharded.
    after = fleet.here("plan", "--detailed-exitcode")
    assert after.code == 0, after.out + after.err
    drift_after = fleet.here("drift", "--format", "json").json()
    assert drift_after["summary"]["in_sync"] == len(writes)
    files = fleet.shards("drift", name="drift-after")
    assert without_merged(fleet.merge(files)) == drift_after


def test_merge_names_a_missing_shard_and_refuses_mixed_results(fleet: Fleet) -> None:
    files = fleet.shards("drift", name="drift")

    done = fleet.merge([files[0], files[1], files[3]], "text")
    assert (done.code, done.out) == (1, "")
    assert done.err.startswith(
        f"error: shard 3/4 missing (have 1/4 from {files[0]}, 2/4 from {files[1]}, "
        f"4/4 from {files[3]})\nhint: "
    )
    done = fleet.merge([files[0], files[3]])
    assert done.code == 1
    assert "error: shard 2/4 missing, shard 3/4 missing (have" in done.err

    # Shard 3 rerun after a new commit: its result is from another desired state.
    client = sorted((fleet.repo / "desired-state" / "clients").glob("*.yaml"))[0]
    client.write_text(client.read_text().replace("welcome_text: Welcome to", "welcome_text: Hi"))
    newer = commit_all(fleet.repo, "change one client")
    late = fleet.repo / "late.json"
    rerun = fleet.here("drift", "--shard", "3/4", "--results", str(late))
    assert rerun.code == 0, rerun.err
    done = fleet.merge([files[0], files[1], late, files[3]])
    assert (done.code, done.out) == (1, "")
    assert done.err.splitlines()[0] == (
        f"error: cannot merge results of different desired commits: {files[0]}, {files[1]}, "
        f"{files[3]}: {fleet.commit}; {late}: {newer}"
    )

    # A plan and a drift result do not merge either; nor a shard given twice.
    plan_file = fleet.repo / "plan-2.json"
    assert fleet.here("plan", "--shard", "2/4", "--results", str(plan_file)).code == 0
    done = fleet.merge([files[0], plan_file])
    assert done.code == 1
    assert f"cannot merge results of different kinds: {files[0]}: drift; {plan_file}: plan" in (
        done.err
    )
    done = fleet.merge([files[0], files[0]])
    assert done.code == 1
    assert f"error: shard 1/4 given twice: {files[0]} and {files[0]}" in done.err
