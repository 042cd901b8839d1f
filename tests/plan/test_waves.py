"""Wave selection: first wave wins, sticky percent buckets, max_clients, globs, labels."""

from __future__ import annotations

import uuid

from reconciler.model import ClientDesired
from reconciler.plan.waves import assign, bucket, parse_json_path, wave_from_json, wave_to_json
from reconciler.rollout_model import Selector, Wave


def _client(n: int, **kwargs: object) -> ClientDesired:
    return ClientDesired(client_id=str(uuid.UUID(int=n * 7919 + 1)), name=f"client-{n}", **kwargs)  # type: ignore[arg-type]


def _wave(name: str, **select: object) -> Wave:
    return Wave(name=name, select=Selector(**select), where="reconciler.yaml:3:9")  # type: ignore[arg-type]


def test_percent_is_sticky_and_adding_clients_never_moves_others() -> None:
    fleet = [_client(n) for n in range(400)]
    waves = [_wave("canary", percent=10), _wave("rest", percent=100)]
    first = assign(waves, fleet)
    again = assign(waves, list(reversed(fleet)))
    assert first == again
    grown = assign(waves, [*fleet, *(_client(n) for n in range(400, 1000))])
    old = {c.client_id for c in fleet}
    assert {c for c in grown.waves[0] if c in old} == set(first.waves[0])
    assert {c for c in grown.waves[1] if c in old} == set(first.waves[1])
    assert 20 <= len(first.waves[0]) <= 60  # about 10 % of 400
    assert all(bucket(c) < 10 for c in first.waves[0])


def test_first_wave_wins_and_max_clients_takes_the_lowest_buckets() -> None:
    fleet = [_client(n) for n in range(50)]
    waves = [_wave("one", max_clients=3), _wave("two", percent=100)]
    chosen = assign(waves, fleet)
    lowest = sorted(fleet, key=lambda c: bucket(c.client_id))[:3]
    assert chosen.waves[0] == tuple(sorted(c.client_id for c in lowest))
    assert set(chosen.waves[1]) == {c.client_id for c in fleet} - set(chosen.waves[0])
    assert chosen.unselected == ()
    assert chosen.problems == ()


def test_globs_profiles_and_labels_must_all_hold() -> None:
    a = _client(1, profiles=("growth",), labels={"region": "eu-west", "tier": "gold"})
    b = _client(2, profiles=("growth",), labels={"region": "us-east"})
    c = _client(3, profiles=("foundation",), labels={"region": "eu-north"})
    waves = [
        _wave("eu-growth", profiles=["growth"], labels={"region": "eu-*"}),
        _wave("named", clients=["client-[23]"]),
    ]
    chosen = assign(waves, [a, b, c])
    assert chosen.waves == ((a.client_id,), tuple(sorted([b.client_id, c.client_id])))
    by_id = assign([_wave("id", clients=("*" + c.client_id[-6:],))], [a, b, c])
    assert by_id.waves == ((c.client_id,),)
    assert by_id.unselected == tuple(sorted([a.client_id, b.client_id]))


def test_a_wave_selecting_nothing_or_only_earlier_clients_is_a_problem() -> None:
    fleet = [_client(n, profiles=("growth",)) for n in range(5)]
    waves = [
        _wave("all", percent=100),
        _wave("growth", profiles=["growth"]),
        _wave("nobody", clients=["nobody-*"]),
    ]
    problems = [str(p) for p in assign(waves, fleet).problems]
    assert problems == [
        "reconciler.yaml:3:9: $.rollout.waves[1].select: wave 'growth' overlaps earlier waves "
        "(all): every client it selects belongs to an earlier wave, so it can never select any",
        "reconciler.yaml:3:9: $.rollout.waves[2].select: wave 'nobody' selects no client",
    ]


def test_json_paths_and_the_stored_form() -> None:
    assert parse_json_path("$.ok") == ("ok",)
    assert parse_json_path("$.checks[0]['a b']") == ("checks", 0, "a b")
    assert parse_json_path("$") == ()
    assert parse_json_path("$..x") is None
    assert parse_json_path("ok") is None
    wave = _wave("w", profiles=("p",), labels={"a": "b"}, percent=5.5, max_clients=3)
    assert wave_from_json(wave_to_json(wave)) == wave
