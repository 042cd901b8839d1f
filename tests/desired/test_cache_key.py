"""The code part of the cache key (issue 15): a change to any code or schema a client file's
outcome depends on is a different key, so an upgrade never reuses outcomes of the old code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.desired import cache_codec as cache

# Code a client file's outcome goes through: parsing, checking, resolving, the schemas, and
# the sensitive paths of module schemas (plan/mask.py, used by the catalog).
OUTCOME_CODE = [
    "desired/yamlsafe.py",
    "desired/scalars.py",
    "desired/schema.py",
    "desired/resolve.py",
    "desired/secrets.py",
    "desired/catalog.py",
    "desired/load.py",
    "model.py",
    "errors.py",
    "schemas/client.schema.json",
    "plan/mask.py",
]


@pytest.fixture(scope="module")
def package_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("package") / "reconciler"
    shutil.copytree(cache._PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture
def package(package_copy: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the reconciler package that the code key is computed from."""
    monkeypatch.setattr(cache, "_PACKAGE", package_copy)
    monkeypatch.setattr(cache, "_code_keys", {})
    return package_copy


def _key() -> str:
    cache._code_keys.clear()
    return cache.code_key()


@pytest.mark.parametrize("relpath", OUTCOME_CODE)
def test_a_code_change_is_another_key(package: Path, relpath: str) -> None:
    before = _key()
    assert _key() == before  # the key is stable
    path = package / relpath
    raw = path.read_bytes()
    path.write_bytes(raw + b"\n")
    try:
        assert _key() != before
    finally:
        path.write_bytes(raw)
