"""The fleet overview's data: one drift report, computed once and cached with a short TTL.

Classifying 100,000 clients is the expensive part (it reads every client's live state), so
pages never classify: they filter and slice an index built once per report (issue 9).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.model import JSON

CLASSES: tuple[str, ...] = ("drifted", "pending", "never_applied", "in_sync")
CLASS_LABELS: dict[str, str] = {
    "drifted": "drifted",
    "pending": "pending",
    "never_applied": "never applied",
    "in_sync": "in sync",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One page of the filtered clients, plus what the page links need."""

    rows: Sequence[dict[str, JSON]]
    total: int  # clients matching the filter and search
    page: int  # 1-based, clamped to the last page
    pages: int
    per_page: int


@dataclass(slots=True, kw_only=True)
class FleetView:
    """A drift report (its `to_json()`) indexed for filtering by class and searching."""

    report: dict[str, JSON]
    computed_at: datetime
    by_class: dict[str, list[int]] = field(default_factory=dict)
    haystack: list[str] = field(default_factory=list)
    by_id: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, report: dict[str, JSON], computed_at: datetime) -> FleetView:
        view = cls(report=report, computed_at=computed_at)
        view.by_class = {name: [] for name in CLASSES}
        for index, client in enumerate(report["clients"]):
            # Filter by membership in `classes` (drifted and pending can both hold), so the
            # filtered count equals the summary count of `reconciler drift`.
            for name in client["classes"]:
                view.by_class.setdefault(name, []).append(index)
            view.haystack.append(f"{client['client_id']}\n{client['name']}".lower())
            view.by_id[client["client_id"]] = index
        return view

    @property
    def summary(self) -> dict[str, int]:
        summary: dict[str, int] = self.report["summary"]
        return summary

    def client(self, client_id: str) -> dict[str, JSON] | None:
        index = self.by_id.get(client_id)
        return None if index is None else self.report["clients"][index]

    def page(self, *, status: str = "", query: str = "", page: int = 1, per_page: int = 50) -> Page:
        """Clients of one class (or all) whose id or name contains `query`, one page of them."""
        clients: list[dict[str, JSON]] = self.report["clients"]
        indices: Sequence[int] = self.by_class.get(status, []) if status else range(len(clients))
        needle = query.strip().lower()
        if needle:
            indices = [i for i in indices if needle in self.haystack[i]]
        total = len(indices)
        pages = max(1, -(-total // per_page))
        page = min(max(1, page), pages)
        start = (page - 1) * per_page
        rows = [clients[i] for i in indices[start : start + per_page]]
        return Page(rows=rows, total=total, page=page, pages=pages, per_page=per_page)


class TTLCache:
    """Holds one value computed by `compute`, recomputed when older than `ttl` seconds.

    One lock: concurrent requests for a stale value wait for a single computation instead of
    classifying the fleet once each.
    """

    def __init__(self, compute: Callable[[], Any], ttl: float) -> None:
        self._compute = compute
        self._ttl = ttl
        self._lock = threading.Lock()
        self._value: Any = None
        self._stamp = 0.0

    def get(self, *, refresh: bool = False) -> Any:
        with self._lock:
            fresh = self._value is not None and time.monotonic() - self._stamp < self._ttl
            if refresh or not fresh:
                self._value = self._compute()
                self._stamp = time.monotonic()
            return self._value

    def peek(self) -> Any:
        """The cached value, however old, or None; never computes."""
        return self._value

    def clear(self) -> None:
        with self._lock:
            self._value = None


def fleet_cache(compute_report: Callable[[], dict[str, JSON]], ttl: float) -> TTLCache:
    """A TTLCache of FleetViews over `compute_report` (a drift report's `to_json()`)."""
    return TTLCache(lambda: FleetView.build(compute_report(), datetime.now(UTC)), ttl)
