"""The fleet overview's data: one drift report, computed once and cached with a short TTL.

Classifying 100,000 clients is the expensive part (it reads every client's live state), so
pages never classify: they filter and slice an index built once per report (issue 9).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler.model import JSON
from reconciler.plan.drift import CLASSES
from reconciler.redact import redact_urls

log = logging.getLogger(__name__)


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


class Recomputed:
    """Holds one value computed by `compute`; stale after `ttl` seconds.

    The first `get` computes (one computation even when many requests ask at once). A stale
    value is still returned at once while one background thread recomputes it, so no page
    waits for the fleet to be classified again; `refresh=True` recomputes before returning.
    """

    def __init__(self, compute: Callable[[], Any], ttl: float) -> None:
        self._compute = compute
        self._ttl = ttl
        self._lock = threading.Lock()  # guards the fields below
        self._computing = threading.Lock()  # one computation at a time
        self._value: Any = None
        self._stamp = 0.0
        self.computed_at: datetime | None = None  # wall time of the value, for pages
        self._background: threading.Thread | None = None
        self._generation = 0  # bumped by clear(): a computation begun before is not kept

    def get(self, *, refresh: bool = False) -> Any:
        with self._lock:
            value = self._value
            if value is not None and not refresh:
                if time.monotonic() - self._stamp >= self._ttl and self._background is None:
                    self._background = threading.Thread(target=self._recompute, daemon=True)
                    self._background.start()
                return value
        with self._computing:
            with self._lock:  # another request may have computed it meanwhile
                if self._value is not None and self._value is not value and not refresh:
                    return self._value
                generation = self._generation
            return self._store(self._compute(), generation)

    def _store(self, value: Any, generation: int) -> Any:
        with self._lock:
            if generation == self._generation:
                self._value, self._stamp = value, time.monotonic()
                self.computed_at = datetime.now(UTC)
        return value

    def _recompute(self) -> None:
        try:
            with self._computing:
                generation = self._generation
                self._store(self._compute(), generation)
        except Exception as exc:  # keep serving the stale value; say why on stderr
            log.warning("serve: background refresh failed: %s", redact_urls(str(exc)))
        finally:
            with self._lock:
                self._background = None

    def wait(self) -> None:
        """Wait for a background recomputation, if one runs (tests, shutdown)."""
        thread = self._background
        if thread is not None:
            thread.join()

    def peek(self) -> Any:
        """The cached value, however old, or None; never computes."""
        return self._value

    def clear(self) -> None:
        """Forget the value: the next `get` computes it (after a write, stale is wrong)."""
        with self._lock:
            self._value = None
            self._generation += 1


def fleet_cache(compute_report: Callable[[], dict[str, JSON]], ttl: float) -> Recomputed:
    """A Recomputed of FleetViews over `compute_report` (a drift report's `to_json()`)."""
    return Recomputed(lambda: FleetView.build(compute_report(), datetime.now(UTC)), ttl)
