"""`--shard auto`, `--results FILE` and `merge-results` through the CLI, on both stores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, Result, invoke
from tests.git_helpers import commit_all, example_repo
from tests.helpers import add_clients, legacy_rows, run_sql


@pytest.fixture
def repo(tmp_path: Path, store_url: str) -> tuple[Path, Path]:
    add_clients(store_url, EXAMPLE_IDS.values())
    return example_repo(tmp_path)


def run(capsys: pytest.CaptureFixture[str], store: str, desired: Path, *args: str) -> Result:
    verb, *rest = args
    return invoke(capsys, verb, "--store", store, "--dir", str(desired), *rest)


def sharded(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    store: str,
    desired: Path,
    *args: str,
    count: int = 3,
) -> list[str]:
    """ARGS --shard auto --shards COUNT --results, once per JOB_COMPLETION_INDEX."""
    files = []
    for index in range(count):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
        out = desired.parent / f"{args[0]}-{index}.json"
        done = run(
            capsys, store, desired, *args, "--shard", "auto", "--shards", str(count),
            "--results", str(out),
        )  # fmt: skip
        assert done.code in (0, 2), done.err
        files.append(str(out))
    monkeypatch.delenv("JOB_COMPLETION_INDEX")
    return files


def test_changed_since_plan_merges_into_the_unsharded_plan(
    repo: tuple[Path, Path],
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, desired = repo
    acme = desired / "clients" / "acme-dental.yaml"
    acme.write_text(acme.read_text().replace("max_fields: 60", "max_fields: 61"))
    commit_all(root, "acme: more fields")
    args = ("plan", "--changed-since", "HEAD~1", "--format", "json")
    files = sharded(capsys, monkeypatch, store_url, desired, *args)
    merged = invoke(capsys, "merge-results", *files, "--format", "json")
    assert merged.code == 0, merged.err
    data = merged.json()
    assert data.pop("merged")["files"] == files
    assert data == run(capsys, store_url, desired, *args).json()
    assert data["changed_since"]["clients_changed"] == [EXAMPLE_IDS["acme-dental"]]
    assert invoke(capsys, "merge-results", *files, "--detailed-exitcode").code == 2


def test_apply_of_a_saved_plan_by_shard_writes_only_that_shard(
    repo: tuple[Path, Path],
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, desired = repo
    plan_file = desired.parent / "plan.json"
    assert run(capsys, store_url, desired, "plan", "--out", str(plan_file)).code == 0
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    monkeypatch.setenv("RECONCILER_SHARDS", "2")
    done = run(capsys, store_url, desired, "apply", str(plan_file), "--shard", "auto", "--yes")
    assert done.code == 0, done.err
    written = {r["client_id"] for r in legacy_rows(store_url)}
    second = run(capsys, store_url, desired, "plan", "--shard", "2/2", "--format", "json")
    first = run(capsys, store_url, desired, "plan", "--shard", "1/2", "--format", "json")
    assert not any(c["writes"] for c in second.json()["clients"])
    assert written
    assert written.isdisjoint(c["client_id"] for c in first.json()["clients"])
    assert run_sql(store_url, "SELECT count(*) FROM reconciler_runs") == [(1,)]


def test_drift_merge_exits_2_on_drift_and_apply_merge_shows_each_run(
    repo: tuple[Path, Path],
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, desired = repo
    files = sharded(capsys, monkeypatch, store_url, desired, "apply", "--yes", count=2)
    runs = [json.loads(Path(f).read_text())["result"]["run_id"] for f in files]
    merged = invoke(capsys, "merge-results", *files, "--format", "markdown")
    assert merged.code == 0, merged.err
    assert merged.out.startswith(f"### apply runs {runs[0]}, {runs[1]}\n")
    acme = EXAMPLE_IDS["acme-dental"]
    run_sql(
        store_url,
        "UPDATE client_app_overrides SET modules_enabled = %s WHERE client_id = %s",
        ['["forms"]', acme],
    )
    files = sharded(capsys, monkeypatch, store_url, desired, "drift", count=2)
    merged = invoke(capsys, "merge-results", *files)
    assert merged.code == 2, merged.err
    assert merged.out.startswith("Drift: 6 clients: 1 drifted, 0 pending, 1 never applied")
    assert merged.out.endswith("Merged from 2 shard results.\n")


def test_shard_auto_and_results_errors(
    repo: tuple[Path, Path], store_url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, desired = repo
    done = run(capsys, store_url, desired, "drift", "--shard", "auto")
    assert (done.code, done.out) == (1, "")
    assert done.err.startswith(
        "error: --shard auto: JOB_COMPLETION_INDEX is not set, so the shard index is unknown\n"
    )
    bad = tmp_path / "missing-dir" / "r.json"
    done = run(capsys, store_url, desired, "plan", "--results", str(bad))
    assert done.code == 1
    assert f"error: cannot write results file {bad}: No such file or directory" in done.err
    done = invoke(capsys, "merge-results", str(bad))
    assert done.code == 1
    assert f"error: cannot read results file {bad}" in done.err
    truncated = tmp_path / "t.json"
    truncated.write_text('{"kind": "shard-result",')
    done = invoke(capsys, "merge-results", str(truncated))
    assert done.code == 1
    assert f"error: {truncated}:1:25: not a shard result (invalid JSON: " in done.err
    assert invoke(capsys, "merge-results").code == 1


def test_sharded_apply_of_a_saved_plan_keeps_the_whole_plans_client_limit(
    repo: tuple[Path, Path],
    store_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, desired = repo
    settings = desired / "reconciler.yaml"
    settings.write_text(
        settings.read_text().replace("max_clients_changed: 50", "max_clients_changed: 3")
    )
    plan_file = desired.parent / "plan.json"
    assert run(capsys, store_url, desired, "plan", "--out", str(plan_file)).code == 0
    monkeypatch.setenv("RECONCILER_SHARDS", "4")
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "0")
    refused = run(capsys, store_url, desired, "apply", str(plan_file), "--shard", "auto", "--yes")
    assert (refused.code, refused.out) == (1, "")
    assert refused.err.startswith(
        f"reconciler.yaml: $.safety.max_clients_changed: 5 clients would change in {plan_file} "
        "as a whole, limit is 3 (each shard applies part of it)\n"
        "error: run refused before any write: 1 safety check(s) failed\n"
    )
    assert legacy_rows(store_url) == []
    for index in range(4):
        monkeypatch.setenv("JOB_COMPLETION_INDEX", str(index))
        forced = run(
            capsys, store_url, desired, "apply", str(plan_file), "--shard", "auto", "--yes",
            "--force",
        )  # fmt: skip
        assert forced.code == 0, forced.err
    assert run(capsys, store_url, desired, "plan", "--detailed-exitcode").code == 0
