"""Secret references resolved in memory (reconciler/desired/secrets.py, issue 18)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from reconciler.desired.secrets import SecretResolver
from reconciler.model import ClientDesired, DesiredModule, deep_merge

SENSITIVE = {"mail": frozenset({("smtp", "password")}), "api": frozenset({("keys", "token")})}


def client(**settings: object) -> ClientDesired:
    modules = {m: DesiredModule(version="1.0.0", settings=s) for m, s in settings.items()}
    return ClientDesired(client_id="c1", file="clients/c1.yaml", modules=modules)


def test_env_and_file_references_resolve_without_touching_the_original(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("from-file\r\n")
    absolute = tmp_path / "abs"
    absolute.write_text("two\nlines\n")
    desired = client(
        mail={"smtp": {"host": "h", "password": {"secret": {"file": "pw"}}}},
        api={"keys": [{"token": {"secret": {"env": "TOKEN"}}}, {"token": {"secret": {"file": str(absolute)}}}]},
    )  # fmt: skip
    resolved, problems = SecretResolver(str(tmp_path), {"TOKEN": "from-env"}).resolve(
        desired, SENSITIVE
    )
    assert problems == []
    assert resolved.modules["mail"].settings == {"smtp": {"host": "h", "password": "from-file"}}
    assert resolved.modules["api"].settings == {
        "keys": [{"token": "from-env"}, {"token": "two\nlines"}]
    }
    assert desired.modules["mail"].settings["smtp"]["password"] == {"secret": {"file": "pw"}}


def test_every_unresolvable_reference_is_named_without_a_value(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    desired = client(
        mail={"smtp": {"password": {"secret": {"file": "dir"}}}},
        api={"keys": {"token": {"secret": {"env": "EMPTY"}}}},
    )
    _, problems = SecretResolver(str(tmp_path), {"EMPTY": ""}).resolve(desired, SENSITIVE)
    assert problems == [
        "client c1 (clients/c1.yaml): module mail setting smtp.password: secret file "
        f"{tmp_path}/dir cannot be read (Is a directory)",
        "client c1 (clients/c1.yaml): module api setting keys.token: environment variable "
        "EMPTY is empty",
    ]


def test_a_reference_replaces_as_a_whole_when_layers_merge() -> None:
    base = {"password": {"secret": {"env": "A"}}, "host": {"name": "x"}}
    over = {"password": {"secret": {"file": "f"}}, "host": {"port": 1}}
    assert deep_merge(base, over) == {
        "password": {"secret": {"file": "f"}},
        "host": {"name": "x", "port": 1},
    }


def test_sources_stand_for_settled_files_only_and_never_hold_a_value(tmp_path: Path) -> None:
    """What the plan memo keys a resolved client on: its secret files' stamps, None when a
    value came from the environment or from a file changed within 2 s."""
    settled, fresh = tmp_path / "settled", tmp_path / "fresh"
    settled.write_text("s3cr3t-value\n")
    old = time.time() - 60
    os.utime(settled, (old, old))
    by_file = client(mail={"smtp": {"password": {"secret": {"file": "settled"}}}})
    by_env = client(api={"keys": [{"token": {"secret": {"env": "TOKEN"}}}]})
    by_fresh = client(mail={"smtp": {"password": {"secret": {"file": "fresh"}}}})
    resolver = SecretResolver(str(tmp_path), {"TOKEN": "from-env"})

    ctime = settled.stat().st_ctime_ns
    if time.time_ns() - ctime <= 2_000_000_000:  # ctime cannot be set back: wait it out
        time.sleep(2.1 - (time.time_ns() - ctime) / 1e9)
    fresh.write_text("n3w-value\n")  # written just now: its stamp cannot stand for it yet
    resolver.resolve(by_file, SENSITIVE)
    info = settled.stat()
    stamp = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
    assert resolver.sources == {"c1": f"file settled {stamp}"}

    for other in (by_env, by_fresh):
        resolver.resolve(other, SENSITIVE)
        assert resolver.sources == {"c1": None}
    unresolved = client(mail={"smtp": {"password": {"secret": {"file": "missing"}}}})
    resolver.sources.clear()
    assert resolver.resolve(unresolved, SENSITIVE)[1] != []
    assert resolver.sources == {}  # nothing resolved, nothing to remember
