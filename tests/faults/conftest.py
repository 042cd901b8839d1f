"""Fault tests start reconciler subprocesses; none may outlive its test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.faults_helpers import reap_started


@pytest.fixture(autouse=True)
def _reap_subprocesses() -> Iterator[None]:
    yield
    reap_started()
