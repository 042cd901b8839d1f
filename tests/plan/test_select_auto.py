"""reconciler/plan/select.py `resolve_shard`: `--shard auto` from a job engine's environment,
and the shards it names are disjoint and cover every client (issue 17)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.errors import ReconcilerError
from reconciler.plan.select import parse_shard, resolve_shard


def test_auto_takes_the_zero_based_index_and_the_count_from_the_environment() -> None:
    env = {"JOB_COMPLETION_INDEX": "0", "RECONCILER_SHARDS": "4"}
    assert resolve_shard("auto", environ=env) == "1/4"
    assert resolve_shard("AUTO", environ={**env, "JOB_COMPLETION_INDEX": "3"}) == "4/4"


def test_shards_option_wins_over_the_environment() -> None:
    env = {"JOB_COMPLETION_INDEX": "2", "RECONCILER_SHARDS": "4"}
    assert resolve_shard("auto", shards=8, environ=env) == "3/8"
    assert resolve_shard("auto", shards=3, environ={"JOB_COMPLETION_INDEX": "2"}) == "3/3"


def test_explicit_and_absent_shards_pass_through() -> None:
    assert resolve_shard(None, environ={"JOB_COMPLETION_INDEX": "1"}) is None
    assert resolve_shard(" 2 / 4 ", environ={}) == "2/4"
    assert resolve_shard("2/4", shards=4, environ={}) == "2/4"


@pytest.mark.parametrize(
    ("text", "shards", "env", "message"),
    [
        (
            "auto",
            None,
            {"RECONCILER_SHARDS": "4"},
            "--shard auto: JOB_COMPLETION_INDEX is not set, so the shard index is unknown",
        ),
        (
            "auto",
            None,
            {"JOB_COMPLETION_INDEX": "1"},
            "--shard auto: the shard count is unknown (RECONCILER_SHARDS is not set)",
        ),
        (
            "auto",
            None,
            {"JOB_COMPLETION_INDEX": "1", "RECONCILER_SHARDS": "four"},
            "--shard auto: RECONCILER_SHARDS='four' is not a positive integer",
        ),
        (
            "auto",
            None,
            {"JOB_COMPLETION_INDEX": "1", "RECONCILER_SHARDS": "0"},
            "--shard auto: RECONCILER_SHARDS='0' is not a positive integer",
        ),
        (
            "auto",
            4,
            {"JOB_COMPLETION_INDEX": "-1"},
            "--shard auto: JOB_COMPLETION_INDEX='-1' is not a non-negative integer",
        ),
        (
            "auto",
            4,
            {"JOB_COMPLETION_INDEX": "4"},
            "--shard auto: JOB_COMPLETION_INDEX=4 is outside 4 shard(s) (0-based indexes 0..3)",
        ),
        ("2/4", 8, {}, "--shard 2/4 disagrees with --shards 8"),
        (None, 4, {}, "--shards needs --shard auto"),
        ("5/4", None, {}, "invalid --shard '5/4'"),
    ],
)
def test_auto_refuses_what_it_cannot_resolve(
    text: str | None, shards: int | None, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ReconcilerError) as err:
        resolve_shard(text, shards=shards, environ=env)
    assert err.value.message == message
    assert err.value.hint


@settings(deadline=None)  # no timing assertions: the machine may be busy
@given(
    ids=st.sets(st.text(min_size=0, max_size=40), max_size=100),
    count=st.integers(min_value=1, max_value=32),
)
def test_auto_shards_of_a_job_are_disjoint_and_cover_every_client(
    ids: set[str], count: int
) -> None:
    shards = []
    for index in range(count):
        env = {"JOB_COMPLETION_INDEX": str(index), "RECONCILER_SHARDS": str(count)}
        parsed = parse_shard(resolve_shard("auto", environ=env))
        assert parsed is not None
        shards.append(parsed)
    assert sorted(s.index for s in shards) == list(range(1, count + 1))
    owners = {cid: [s.index for s in shards if cid in s] for cid in ids}
    assert all(len(found) == 1 for found in owners.values())
    assert set().union(*({cid for cid in ids if cid in s} for s in shards)) == ids
