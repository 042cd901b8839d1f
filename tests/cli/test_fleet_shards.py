"""Issue 17: four shards of a Kubernetes Indexed Job, each a separate `reconciler` process with
its own JOB_COMPLETION_INDEX, plan, apply and drift a generated fleet on PostgreSQL; their
`--results` files merge into exactly the unsharded result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.gen_fleet import generate
from tests.git_helpers import commit_all, init_repo
from tests.helpers import add_clients, legacy_rows

pytestmark = pytest.mark.pg
SHARDS = 4
CLIENTS = 40  # under the example's max_clients_changed (50), so the unsharded apply runs too


def reconciler(
    *args: str, cwd: Path, index: int | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("JOB_COMPLETION_INDEX", "NO_COLOR")}
    env["NO_COLOR"] = "1"
    if index is not None:
        env.update(JOB_COMPLETION_INDEX=str(index), RECONCILER_SHARDS=str(SHARDS))
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def shards(*args: str, cwd: Path, name: str) -> list[Path]:
    """`args --shard auto --results NAME-K.json` in SHARDS processes at once, as the pods of an
    Indexed Job run; each must succeed (exit 0, or 2 for drift found)."""
    procs = []
    env_base = {k: v for k, v in os.environ.items() if k != "JOB_COMPLETION_INDEX"}
    for index in range(SHARDS):
        env = {**env_base, "JOB_COMPLETION_INDEX": str(index), "RECONCILER_SHARDS": str(SHARDS)}
        out = cwd / f"{name}-{index}.json"
        cmd = [sys.executable, "-m", "reconciler", *args, "--shard", "auto", "--results", str(out)]
        procs.append(
            subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    for proc in procs:
        _out, err = proc.communicate(timeout=300)
        assert proc.returncode in (0, 2), err
    return [cwd / f"{name}-{index}.json" for index in range(SHARDS)]


def merged(files: list[Path], cwd: Path, fmt: str = "json") -> subprocess.CompletedProcess[str]:
    return reconciler("merge-results", *map(str, files), "--format", fmt, cwd=cwd)


@pytest.fixture
def fleet(pg_store: str, tmp_path: Path) -> tuple[Path, Path, str, list[str]]:
    """A git repo holding a generated 40-client fleet, its clients known to the store."""
    repo = init_repo(tmp_path / "repo")
    ids = generate(CLIENTS, repo / "desired-state", seed=17)
    commit = commit_all(repo, "fleet")
    add_clients(pg_store, ids)
    return repo, repo / "desired-state", commit, ids


def unsharded(verb: str, repo: Path, store: str, *args: str) -> Any:
    done = reconciler(verb, "--store", store, "--dir", "desired-state", *args, cwd=repo)
    assert done.returncode in (0, 2), done.stderr
    return done


def without_merged(text: str) -> Any:
    data = json.loads(text)
    data.pop("merged")
    return data


def test_four_indexed_shards_plan_apply_and_drift_like_one_process(
    fleet: tuple[Path, Path, str, list[str]], pg_store: str
) -> None:
    repo, _desired, commit, ids = fleet
    common = ("--store", pg_store, "--dir", "desired-state")

    # plan: each shard's result file, merged, is the unsharded plan in every format.
    plan_json = unsharded("plan", repo, pg_store, "--format", "json").stdout
    files = shards("plan", *common, "--format", "json", cwd=repo, name="plan")
    shard_docs = [json.loads(f.read_text()) for f in files]
    assert [d["shard"] for d in shard_docs] == [{"index": k, "count": 4} for k in range(1, 5)]
    assert {d["desired_commit"] for d in shard_docs} == {commit}
    assert {d["result_kind"] for d in shard_docs} == {"plan"}
    shard_clients = [{c["client_id"] for c in d["result"]["clients"]} for d in shard_docs]
    assert sum(map(len, shard_clients)) == len(set().union(*shard_clients)) == CLIENTS
    assert set().union(*shard_clients) == set(ids)
    assert "placeholder-not-a-secret" not in "".join(f.read_text() for f in files)
    done = merged(files, repo)
    assert done.returncode == 0, done.stderr
    merged_plan = json.loads(done.stdout)
    assert merged_plan["merged"] == {
        "shards": 4,
        "files": [str(f) for f in files],
        "run_ids": [],
    }
    assert without_merged(done.stdout) == json.loads(plan_json)
    for fmt, origin in (
        ("text", "Merged from 4 shard results.\n"),
        ("markdown", "\n_Merged from 4 shard results._\n"),
    ):
        alone = unsharded("plan", repo, pg_store, "--format", fmt).stdout
        assert merged(files, repo, fmt).stdout == alone + origin

    # drift before any apply: every client never applied, merged as unsharded.
    drift_before = json.loads(unsharded("drift", repo, pg_store, "--format", "json").stdout)
    files = shards("drift", *common, "--format", "json", cwd=repo, name="drift-before")
    assert without_merged(merged(files, repo).stdout) == drift_before

    # apply a saved plan in four shards, as the Indexed Job of examples/kubernetes does.
    saved = reconciler("plan", *common, "--out", "plan.json", cwd=repo)
    assert saved.returncode == 0, saved.stderr
    files = shards("apply", "plan.json", *common, "--yes", "--format", "json", cwd=repo, name="apply")
    done = merged(files, repo)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    writes = {c["client_id"] for c in merged_plan["clients"] if c["writes"]}
    assert {c["client_id"] for c in report["clients"] if c["outcome"] == "applied"} == writes
    assert report["counts"] == {"applied": len(writes), "unchanged": 0, "stale": 0, "failed": 0}
    assert report["plan"] == {"clients_changed": len(writes)}
    assert len(set(report["merged"]["run_ids"])) == 4
    history = json.loads(reconciler("history", "--store", pg_store, "--format", "json", cwd=repo).stdout)
    runs = {r["id"]: r for r in history["runs"]}
    assert sorted(runs) == sorted(report["merged"]["run_ids"])
    assert {r["desired_commit"] for r in runs.values()} == {commit}
    assert sum(r["clients"] for r in runs.values()) == len(writes)
    assert {r["client_id"] for r in legacy_rows(pg_store)} >= writes
    text = merged(files, repo, "text").stdout
    assert text.endswith(f"Apply (4 runs): {len(writes)} applied, 0 unchanged, 0 refused as stale, 0 failed\n"
                         f"Merged from 4 shard results (runs {', '.join(map(str, report['merged']['run_ids']))}).\n")  # fmt: skip

    # Nothing is left to apply, and sharded drift after the apply merges as unsharded.
    after = reconciler("plan", *common, "--detailed-exitcode", cwd=repo)
    assert after.returncode == 0, after.stdout + after.stderr
    drift_after = json.loads(unsharded("drift", repo, pg_store, "--format", "json").stdout)
    assert drift_after["summary"]["in_sync"] == len(writes)
    files = shards("drift", *common, "--format", "json", cwd=repo, name="drift-after")
    assert without_merged(merged(files, repo).stdout) == drift_after


def test_merge_names_a_missing_shard_and_refuses_mixed_commits(
    fleet: tuple[Path, Path, str, list[str]], pg_store: str
) -> None:
    repo, desired, commit, _ids = fleet
    common = ("--store", pg_store, "--dir", "desired-state")
    files = shards("drift", *common, cwd=repo, name="drift")

    done = merged([files[0], files[1], files[3]], repo, "text")
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith(
        f"error: shard 3/4 missing (have 1/4 from {files[0]}, 2/4 from {files[1]}, "
        f"4/4 from {files[3]})\n"
    )
    done = merged([files[0], files[3]], repo)
    assert done.returncode == 1
    assert "error: shard 2/4 missing, shard 3/4 missing" in done.stderr

    # Shard 3 rerun after a new commit: its result is from another desired state.
    client = sorted((desired / "clients").glob("*.yaml"))[0]
    client.write_text(client.read_text().replace("welcome_text: Welcome to", "welcome_text: Hi"))
    newer = commit_all(repo, "change one client")
    rerun = reconciler(*("drift", *common, "--shard", "3/4", "--results", "late.json"), cwd=repo)
    assert rerun.returncode in (0, 2), rerun.stderr
    done = merged([files[0], files[1], repo / "late.json", files[3]], repo)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines()[0] == (
        f"error: cannot merge results of different desired commits: {files[0]}, {files[1]}, "
        f"{files[3]}: {commit}; {repo / 'late.json'}: {newer}"
    )

    # A plan and a drift result do not merge either; nor a shard given twice.
    plan_file = repo / "plan-2.json"
    done = reconciler("plan", *common, "--shard", "2/4", "--results", str(plan_file), cwd=repo)
    assert done.returncode == 0, done.stderr
    done = merged([files[0], plan_file], repo)
    assert done.returncode == 1
    assert "cannot merge results of different kinds:" in done.stderr
    assert f"{plan_file}: plan" in done.stderr
    done = merged([files[0], files[0]], repo)
    assert done.returncode == 1
    assert f"error: shard 1/4 given twice: {files[0]} and {files[0]}" in done.stderr
