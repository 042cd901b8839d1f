"""`-v` and `--debug` say what a user debugging a run needs, on stderr, and never a secret."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.cli_helpers import EXAMPLE_IDS, copy_example, invoke
from tests.helpers import add_clients

PASSWORD = "pw-never-logged"


def _phases(err: str) -> list[str]:
    """The logged lines without their millisecond stamps."""
    return [re.sub(r"^\s*\d+ms ", "", line) for line in err.splitlines() if "ms " in line[:12]]


def test_verbose_plan_logs_store_commit_counts_and_times(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    desired = copy_example(tmp_path)
    result = invoke(capsys, "-v", "plan", "--store", store_url, "--dir", str(desired))
    assert result.code == 0, result.err
    lines = _phases(result.err)
    assert any(
        re.fullmatch(r"INFO reconciler\.api\._store: store .* open in \d+\.\d{3} s", x)
        for x in lines
    )
    assert any(
        re.fullmatch(
            r"INFO reconciler\.api\._fleet: desired .*desired-state at the working tree: "
            r"12 modules, 3 profiles loaded in \d+\.\d{3} s",
            x,
        )
        for x in lines
    ), lines
    assert any(
        re.fullmatch(
            r"INFO reconciler\.api\._fleet: fleet walk: 6 client files in 1 batch\(es\), task plan, \d+\.\d{3} s",
            x,
        )
        for x in lines
    ), lines
    assert any(
        re.fullmatch(
            r"INFO reconciler\.api\.plan: plan: 6 clients with changes, 0 unchanged, \d+\.\d{3} s",
            x,
        )
        for x in lines
    )
    assert not any(x.startswith("DEBUG") for x in lines)  # batches and locks are --debug only
    assert result.out.startswith("Plan for ")  # stdout holds the result alone


def test_debug_apply_logs_batches_and_lock_waits_without_the_password(
    capsys: pytest.CaptureFixture[str], store_url: str, tmp_path: Path
) -> None:
    desired = copy_example(tmp_path)
    # PostgreSQL here trusts local connections: a password in the URL is carried, not checked.
    store = store_url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
    add_clients(store_url, EXAMPLE_IDS.values())
    assert invoke(capsys, "init", "--demo", "--store", store).code == 0
    result = invoke(capsys, "--debug", "apply", "--yes", "--store", store, "--dir", str(desired))
    assert result.code == 0, result.err
    lines = _phases(result.err)
    assert any(
        re.fullmatch(r"DEBUG reconciler\.live\.locks: lock: 5 key\(s\) taken after \d+\.\d{3} s", x)
        for x in lines
    ), lines
    assert any(
        re.fullmatch(
            r"DEBUG reconciler\.apply\.transaction: apply: batch 1: 5 clients \(one transaction\) in \d+\.\d{3} s",
            x,
        )
        for x in lines
    )
    assert any(
        re.fullmatch(
            r"INFO reconciler\.apply\.runs: apply run 1: 5 applied, 0 unchanged, 0 stale, 0 failed in \d+\.\d{3} s",
            x,
        )
        for x in lines
    )
    assert PASSWORD not in result.err + result.out
