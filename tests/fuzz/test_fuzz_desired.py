"""Generated desired-state trees never crash `validate` or `plan`: valid, or clean problems."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler import api
from reconciler.errors import ReconcilerError, ValidationFailed
from reconciler.live.engine import make_engine
from reconciler.live.migrate import init
from tests.cli.cli_helpers import copy_example
from tests.fuzz.strategies import client_docs, json_values, yaml_noise

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _text(doc: Any, style: str) -> str:
    if style == "yaml":
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    if style == "json":
        return json.dumps(doc, ensure_ascii=False)
    return yaml.safe_dump(doc, default_flow_style=True, width=40)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/fuzz.db"
    init(make_engine(url))
    return url


def _write_clients(tree: Path, texts: list[str]) -> None:
    fuzz = tree / "clients" / "fuzz"
    shutil.rmtree(fuzz, ignore_errors=True)
    fuzz.mkdir()
    for i, text in enumerate(texts):
        (fuzz / f"c{i}.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")


def _check(tree: Path, store: str) -> None:
    """validate and plan either succeed or raise a ReconcilerError whose problems are located."""
    failure: ReconcilerError | None = None
    try:
        api.validate(str(tree))
        api.plan(store, str(tree))
    except ReconcilerError as exc:  # anything else fails the test with its traceback
        failure = exc
    if isinstance(failure, ValidationFailed):
        assert failure.problems
        for problem in failure.problems:
            assert problem.location.line >= 1, problem
            assert problem.location.column >= 1, problem
    elif failure is not None:
        assert failure.message


@FUZZ
@given(
    docs=st.lists(
        st.tuples(client_docs, st.sampled_from(["yaml", "json", "flow"])), min_size=1, max_size=3
    )
)
def test_generated_client_files(tree: Path, sqlite_store: str, docs: list[tuple[Any, str]]) -> None:
    _write_clients(tree, [_text(doc, style) for doc, style in docs])
    _check(tree, sqlite_store)


@FUZZ
@given(noise=st.lists(yaml_noise, min_size=1, max_size=2), doc=json_values)
def test_yaml_noise_and_arbitrary_documents(
    tree: Path, sqlite_store: str, noise: list[str], doc: Any
) -> None:
    _write_clients(tree, [*noise, _text(doc, "yaml")])
    _check(tree, sqlite_store)


@FUZZ
@given(
    kind=st.sampled_from(["modules/forms.yaml", "profiles/growth.yaml", "reconciler.yaml"]),
    key=st.sampled_from(
        [
            "settings_schema",
            "default_settings",
            "dependencies",
            "modules",
            "defaults",
            "legacy",
            "safety",
            "limits",
            "conflicts",
            "version",
        ]
    ),
    value=json_values,
)
def test_one_value_anywhere_in_catalog_profiles_and_settings(
    tree: Path, sqlite_store: str, kind: str, key: str, value: Any
) -> None:
    path = tree / kind
    original = path.read_text()
    data = yaml.safe_load(original)
    data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    try:
        _check(tree, sqlite_store)
    finally:
        path.write_text(original)
