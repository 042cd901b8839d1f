"""Rollout waves of reconciler.yaml `rollout:` (issue 14): frozen dataclasses the settings
hold; kept apart from model.py for size, re-exported there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

JSON = Any  # model.JSON (model.py imports this module)

OnFailure = Literal["revert_wave", "revert_all", "pause"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Selector:
    """Which clients a rollout wave takes; every criterion given must hold."""

    profiles: tuple[str, ...] = ()  # any of these profiles
    clients: tuple[str, ...] = ()  # globs over client_id or name
    labels: Mapping[str, str] = field(default_factory=dict)  # label -> value glob
    percent: float | None = None  # sticky hash bucket of client_id below this
    max_clients: int | None = None  # the lowest-bucket clients first


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthCheck:
    """One gate check: an HTTP GET (`url`) or a command (`argv`); {client_id} is substituted."""

    kind: Literal["http", "command"]
    url: str = ""
    expect_status: int = 200
    json_path: str | None = None
    equals: JSON = True
    argv: tuple[str, ...] = ()
    timeout_seconds: float = 5.0
    where: str = ""  # `reconciler.yaml:12:9`, for messages

    @property
    def label(self) -> str:
        return f"http {self.url}" if self.kind == "http" else f"command {' '.join(self.argv)}"

    def to_json(self) -> dict[str, JSON]:
        data: dict[str, JSON] = {"kind": self.kind, "timeout_seconds": self.timeout_seconds}
        if self.kind == "http":
            data.update(url=self.url, expect_status=self.expect_status, json_path=self.json_path)
            data["equals"] = self.equals
        else:
            data["argv"] = list(self.argv)
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class Gate:
    """A wave's health gate: checks, tolerated failures, concurrency and retries."""

    checks: tuple[HealthCheck, ...] = ()
    max_failed_clients: int | str = 0  # a count or a share "2%"
    concurrency: int = 8
    retries: int = 2
    retry_wait_seconds: float = 1.0

    def allowed_failures(self, clients: int) -> int:
        """How many of `clients` may fail: the count, or the share rounded down."""
        if isinstance(self.max_failed_clients, str):
            return int(clients * float(self.max_failed_clients.rstrip("%")) / 100)
        return self.max_failed_clients


@dataclass(frozen=True, slots=True, kw_only=True)
class Wave:
    """One rollout wave of reconciler.yaml `rollout.waves`."""

    name: str
    select: Selector
    bake_seconds: float = 0
    gate: Gate = field(default_factory=Gate)
    on_failure: OnFailure = "revert_wave"
    where: str = ""  # `reconciler.yaml:12:9` of its `select`
