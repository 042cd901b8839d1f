"""The cache's client-id index (issue 15): `plan --client` reads only the files claiming the
id when the fleet's verdict matches, `status --client` reads the claimants and the files the
cache has not seen. Both answer exactly as --no-cache does, whatever the files now claim."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest

from tests.cli.cli_helpers import EXAMPLE, EXAMPLE_IDS, Result, invoke
from tests.desired.cache_helpers import (
    assert_same,
    command,
    warm_and_cold,
)
from tests.git_helpers import commit_all, example_repo

ACME, BRIGHT = EXAMPLE_IDS["acme-dental"], EXAMPLE_IDS["bright-smiles"]
NEW_ID = "11111111-2222-4333-8444-555555555555"


pytestmark = pytest.mark.usefixtures("own_cache")  # tests/desired/conftest.py


@pytest.fixture
def desired(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A copy of the example with a warm cache: every file's entry and the fleet's verdict."""
    tree = tmp_path / "desired-state"
    shutil.copytree(EXAMPLE, tree)
    with contextlib.chdir(tmp_path):
        assert invoke(capsys, "validate", "--dir", str(tree)).code == 0
    return tree


def _swap_claims(desired: Path) -> None:
    """bright-smiles' file now claims acme-dental's id; acme-dental's file another id."""
    acme, bright = desired / "clients/acme-dental.yaml", desired / "clients/bright-smiles.yaml"
    acme.write_text(acme.read_text().replace(ACME, NEW_ID))
    bright.write_text(bright.read_text().replace(BRIGHT, ACME))


def _verbose(capsys: pytest.CaptureFixture[str], desired: Path, *args: str) -> Result:
    with contextlib.chdir(desired.parent):
        return invoke(capsys, "-v", *args)


def test_status_client_follows_the_file_that_now_claims_the_id(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    _swap_claims(desired)
    for _ in range(2):  # the files' new claims unseen, then in the index
        warm, cold = warm_and_cold(
            capsys, desired, command("status", desired, store, "--client", ACME)
        )
        assert_same(warm, cold)
        [client] = warm.json()["clients"]
        assert (client["client_id"], client["name"]) == (ACME, "bright-smiles")
    for client_id, name in ((NEW_ID, "acme-dental"), (BRIGHT, "")):  # BRIGHT: no file now
        warm, cold = warm_and_cold(
            capsys, desired, command("status", desired, store, "--client", client_id)
        )
        assert_same(warm, cold)
        assert [c["name"] for c in warm.json()["clients"]] == [name]


def test_status_client_ignores_an_invalid_file_that_claims_another_id(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """An edit the cache has not seen yet is read (its claim is unknown) but counts only if
    it claims the id, as without the cache: the first warm run, the next one and --no-cache
    agree (the first warm run used to say the desired state did not load)."""
    harbor = desired / "clients/harbor-physio.yaml"
    harbor.write_text(harbor.read_text().replace("modules:\n", "modules:\n  no-such: {}\n"))
    args = command("status", desired, store, "--client", ACME)
    first, cold = warm_and_cold(capsys, desired, args)
    again, _ = warm_and_cold(capsys, desired, args)
    assert_same(first, cold)
    assert_same(again, cold)
    assert "not loaded" not in first.out
    assert [c["name"] for c in first.json()["clients"]] == ["acme-dental"]


def test_status_client_reports_a_duplicate_claim(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    bright = desired / "clients/bright-smiles.yaml"
    bright.write_text(bright.read_text().replace(BRIGHT, ACME))
    warm, cold = warm_and_cold(capsys, desired, command("status", desired, store, "--client", ACME))
    assert_same(warm, cold)
    assert "not loaded (2 problems in desired state)" in warm.out


def test_plan_client_with_another_file_invalid_walks_and_fails_as_no_cache(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    """The verdict no longer matches (harbor-physio changed), so the fleet is walked and its
    problem reported, exactly as --no-cache reports it."""
    harbor = desired / "clients/harbor-physio.yaml"
    harbor.write_text(harbor.read_text().replace("modules:\n", "modules:\n  no-such: {}\n"))
    for _ in range(2):  # harbor-physio unseen, then its failing entry cached
        warm, cold = warm_and_cold(
            capsys, desired, command("plan", desired, store, "--client", ACME)
        )
        assert_same(warm, cold)
        assert warm.code == 1
        assert "desired-state/clients/harbor-physio.yaml" in warm.err
        assert "no-such" in warm.err
    verbose = _verbose(capsys, desired, *command("plan", desired, store, "--client", ACME))
    assert "walking every client file" in verbose.err


def test_plan_client_with_a_verdict_reads_one_file_and_equals_no_cache(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    summit = desired / "clients/summit-health.yaml"  # a warning, kept with the verdict
    summit.write_text(
        summit.read_text().replace("{secret: {file: secrets/summit-health-api-key}}", "in-clear")
    )
    settings = desired / "reconciler.yaml"
    settings.write_text(settings.read_text().replace("plaintext: forbid", "plaintext: warn"))
    validated, _ = warm_and_cold(capsys, desired, command("validate", desired, store))
    assert (validated.code, len(validated.json()["warnings"])) == (0, 1)
    for client in (ACME, EXAMPLE_IDS["summit-health"], NEW_ID):
        args = command("plan", desired, store, "--client", client)
        verbose = _verbose(capsys, desired, *args)
        assert "--client: " + ("0" if client == NEW_ID else "1") + " of 6 client files read" in (
            verbose.err
        )
        warm, cold = warm_and_cold(capsys, desired, args)
        assert_same(warm, cold, client)
        assert warm.code == (1 if client == NEW_ID else 0)


def test_plan_client_after_claims_swapped_equals_no_cache(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str
) -> None:
    _swap_claims(desired)
    validated, _ = warm_and_cold(capsys, desired, command("validate", desired, store))
    assert validated.code == 0  # a new verdict on the fleet as it now is
    warm, cold = warm_and_cold(capsys, desired, command("plan", desired, store, "--client", ACME))
    assert_same(warm, cold)
    [client] = warm.json()["clients"]
    assert (client["client_id"], client["name"]) == (ACME, "bright-smiles")


def _max_fields(plan: Result) -> list[object]:
    """acme-dental's planned forms.max_fields, from `plan --client ACME --format json`."""
    [client] = plan.json()["clients"]
    return [
        c["new"]
        for c in client["changes"]
        if c["module"] == "forms" and c["path"] == ["max_fields"]
    ]


def test_ref_head_warm_equals_cold(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, store: str
) -> None:
    """A git revision's files keyed by their blob ids from the tree listing; the working tree's
    edits (other blobs at the same paths) never answer for HEAD, nor HEAD's for the tree."""
    root, desired = example_repo(tmp_path)
    acme = desired / "clients/acme-dental.yaml"
    acme.write_text(acme.read_text().replace("max_fields: 60", "max_fields: 61"))
    commit_all(root, "acme: 61")
    acme.write_text(acme.read_text().replace("max_fields: 61", "max_fields: 62"))
    harbor = desired / "clients/harbor-physio.yaml"
    harbor.write_text(harbor.read_text().replace("modules:\n", "modules:\n  no-such: {}\n"))
    plans = []
    for ref in (["--ref", "HEAD"], [], ["--ref", "HEAD~1"], ["--ref", "HEAD"], []):
        for verb_args in (
            command("validate", desired, store, *ref),
            command("plan", desired, store, *ref),
            command("plan", desired, store, "--client", ACME, *ref),
        ):
            warm, cold = warm_and_cold(capsys, desired, verb_args)
            assert_same(warm, cold, verb_args)
        plans.append(warm)
    assert [p.code for p in plans] == [0, 1, 0, 0, 1]
    assert _max_fields(plans[0]) == [61]
    assert "no-such" in plans[1].err
    assert _max_fields(plans[2]) == [60]


@pytest.mark.parametrize(
    "broken",
    ["client_id: [\n", "client_id: 12\n"],
    ids=["syntax error", "client_id not a string"],
)
def test_status_client_shows_the_problem_of_its_file_in_error(
    capsys: pytest.CaptureFixture[str], desired: Path, store: str, broken: str
) -> None:
    """A file that mentions the id but claims none that can be read (it is in error) counts:
    its problem is shown, the first time and once the cache has seen it, as --no-cache."""
    acme = desired / "clients/acme-dental.yaml"
    acme.write_text(acme.read_text().replace("client_id:", f"# {ACME}\n{broken}old_id:"))
    args = command("status", desired, store, "--client", ACME)
    for _ in range(2):
        warm, cold = warm_and_cold(capsys, desired, args)
        assert_same(warm, cold)
        assert "desired state in" in warm.out
        assert "not loaded" in warm.out
