"""What the desired cache stores of a client (issue 15): decoded exactly, its modules read only
when used, secret references found and resolved as for a client read from its file; and the
cache file read from a plan's helper thread."""

from __future__ import annotations

import datetime
import threading
from pathlib import Path

import pytest

from reconciler.desired import secrets
from reconciler.desired.cache_codec import LazyModules, Outcome, decode, encode
from reconciler.desired.cache_db import CacheFile, CacheUnusable
from reconciler.desired.secrets import SecretResolver
from reconciler.errors import Location, Problem
from reconciler.model import ClientDesired, DesiredModule

SENSITIVE = {"mail": frozenset({("smtp", "password")})}


def _client(password: object) -> ClientDesired:
    return ClientDesired(
        client_id="c1",
        name="Clinic ü",
        file="clients/c1.yaml",
        profiles=("base",),
        strategy="preserve",
        modules={
            "mail": DesiredModule(version="1.0.0", settings={"smtp": {"password": password}}),
            "chat": DesiredModule(enabled=False, version="2.0.0", settings={"n": [1, 2.5, None]}),
            "forms": DesiredModule(version="3.1.0", settings={"é": -0.0}, strategy="replace"),
        },
        overrides={"theme": {"color": "#fff"}},
        labels={"tier": "gold"},
    )


def _cached(client: ClientDesired) -> ClientDesired:
    warning = Problem(Location("clients/c1.yaml", 3, 5), "modules.mail", "deprecated", True)
    payload = encode(Outcome(client, [warning], "c1", "Clinic ü", ("base",)))
    assert payload is not None
    outcome = decode(payload)
    assert outcome.problems == [warning]
    assert outcome.client is not None
    return outcome.client


@pytest.mark.parametrize("password", ["plain", {"secret": {"file": "pw"}}])
def test_a_cached_client_decodes_to_the_client_it_was(password: object) -> None:
    original = _client(password)
    cached = _cached(original)
    assert isinstance(cached.modules, LazyModules)
    assert dict(cached.modules) == dict(original.modules)
    assert cached.to_json() == original.to_json()
    assert (cached.labels, cached.profiles) == (original.labels, original.profiles)


def test_modules_are_decoded_only_when_read() -> None:
    modules = _cached(_client("plain")).modules
    assert isinstance(modules, LazyModules)
    assert modules._loaded is None  # a client the memo answers never pays for its modules
    assert modules["chat"] == DesiredModule(enabled=False, version="2.0.0", settings={"n": [1, 2.5, None]})  # fmt: skip
    assert modules._loaded is not None


def test_whether_a_client_may_hold_references_is_known_from_its_bytes() -> None:
    with_ref = _cached(_client({"secret": {"file": "pw"}})).modules
    without = _cached(_client("plain")).modules
    assert isinstance(with_ref, LazyModules)
    assert isinstance(without, LazyModules)
    assert (with_ref.refs, without.refs) == (True, False)


def test_a_cached_clients_references_resolve_as_the_files_client_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(secrets, "RACY_NS", 0)  # the file counts as settled: it has a stamp
    (tmp_path / "pw").write_text("from-file\n")
    original = _client({"secret": {"file": "pw"}})
    cached = _cached(original)
    resolver = SecretResolver(str(tmp_path))
    resolved, problems = resolver.resolve(cached, SENSITIVE)
    expected, _ = SecretResolver(str(tmp_path)).resolve(original, SENSITIVE)
    assert problems == []
    assert dict(resolved.modules) == dict(expected.modules)
    assert resolved.modules["mail"].settings == {"smtp": {"password": "from-file"}}
    assert cached.modules["mail"].settings == {"smtp": {"password": {"secret": {"file": "pw"}}}}
    stamp = resolver.sources["c1"]  # the file's stamp (never its value) keys the memo
    assert stamp is not None
    assert stamp.startswith(f"{tmp_path / 'pw'}:")


def test_a_client_without_its_modules_does_not_decode() -> None:
    payload = encode(Outcome(_client("plain"), [], "c1", "Clinic ü", ("base",)))
    assert payload is not None
    with pytest.raises(ValueError, match="without its modules"):
        decode(payload.partition(b"\n")[0])


def test_another_thread_reads_the_cache_file_with_a_connection_of_its_own(
    tmp_path: Path,
) -> None:
    cache = CacheFile(tmp_path)
    cache.put_insync("scope", [("c1", "key-1", ""), ("c2", "key-2", "body")])
    read: dict[str, object] = {}

    def reader() -> None:
        read["rows"] = cache.insync_keys("scope", ["c1", "c2", "c3"])
        read["own connection"] = cache._reading() is not cache._conn

    thread = threading.Thread(target=reader)
    thread.start()
    thread.join()
    assert read == {
        "rows": {"c1": ("key-1", ""), "c2": ("key-2", "body")},
        "own connection": True,
    }
    cache.close()
    failed: list[BaseException] = []
    thread = threading.Thread(target=lambda: _read_closed(cache, failed))
    thread.start()
    thread.join()
    assert [str(e) for e in failed] == ["Cannot operate on a closed database."]


def _read_closed(cache: CacheFile, failed: list[BaseException]) -> None:
    try:
        cache.insync_keys("scope", ["c1"])
    except CacheUnusable as exc:
        failed.append(exc)


@pytest.mark.parametrize(
    ("value", "cached"),
    [
        ({"a": None, "b": [1e300, -0.0, "ü\u2028"]}, True),  # a null: checked the slow way, exact
        ({"a": float("nan")}, False),  # orjson would write null
        ({"a": float("inf")}, False),
        ({"a": datetime.date(2026, 12, 1)}, False),  # orjson would write a string
        ({1: "int key"}, False),  # json would write "1"
        ({"a": 2**64}, False),  # beyond 64 bits
        ({"a": "\ud800"}, False),  # a lone surrogate
        ({"a": "1234567890123456789", "b": 2**64 - 1}, True),  # orjson reads u64 back as int
        ({"a": "1234567890123456789", "b": 2**64 - 1, "c": None}, False),  # json's, 19+ digits
    ],
)
def test_only_settings_json_carries_back_exactly_are_cached(value: object, cached: bool) -> None:
    client = ClientDesired(
        client_id="c1",
        modules={"m": DesiredModule(version="1.0.0", settings=value)},  # type: ignore[arg-type]
    )
    payload = encode(Outcome(client, [], "c1", "", ()))
    assert (payload is not None) == cached
    if payload is not None:
        decoded = decode(payload).client
        assert decoded is not None
        assert decoded.modules["m"].settings == value
