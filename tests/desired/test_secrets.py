"""Secret references resolved in memory (reconciler/desired/secrets.py, issue 18)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.desired import secrets
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


def test_sources_name_secret_files_by_their_stamps_never_their_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the plan and drift memos key a resolved client by (api/_memo.py)."""
    monkeypatch.setattr(secrets, "RACY_NS", 0)
    secret = tmp_path / "pw"
    secret.write_text("hunter2-secret\n")
    by_file = client(mail={"smtp": {"password": {"secret": {"file": "pw"}}}})

    def sources(env: dict[str, str], desired: ClientDesired) -> dict[str, str | None]:
        resolver = SecretResolver(str(tmp_path), env)
        _, problems = resolver.resolve(desired, SENSITIVE)
        assert problems == []
        return resolver.sources

    stamp = sources({}, by_file)["c1"]
    assert stamp is not None
    assert stamp.startswith(f"{secret}:")
    assert "hunter2" not in stamp
    assert sources({}, by_file) == {"c1": stamp}  # the same file, the same stamp
    secret.write_text("rotated-secret\n")  # as long, another value: another stamp
    info = secret.stat()
    os.utime(secret, ns=(info.st_atime_ns, info.st_mtime_ns - 10**9))  # not the same tick
    assert sources({}, by_file)["c1"] not in (None, stamp)
    # An environment variable has no stamp, nor does a file changed just before it was read:
    # such a client is not remembered.
    by_env = client(api={"keys": {"token": {"secret": {"env": "TOKEN"}}}})
    assert sources({"TOKEN": "t"}, by_env) == {"c1": None}
    both = client(
        mail={"smtp": {"password": {"secret": {"file": "pw"}}}},
        api={"keys": {"token": {"secret": {"env": "TOKEN"}}}},
    )
    assert sources({"TOKEN": "t"}, both) == {"c1": None}
    monkeypatch.setattr(secrets, "RACY_NS", 10**18)
    assert sources({}, by_file) == {"c1": None}
    # A client without references is resolved as it is, and not listed.
    assert sources({}, client(mail={"smtp": {"host": "h"}})) == {}
