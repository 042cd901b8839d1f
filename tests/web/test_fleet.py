"""The overview's index: filter by class, search, pagination, and the TTL cache."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from reconciler.web.fleet import FleetView, Recomputed


def report(n: int) -> dict[str, Any]:
    classes = [["in_sync"], ["drifted"], ["drifted", "pending"], ["never_applied"]]
    clients = [
        {
            "client_id": f"{i:08d}-0000-0000-0000-000000000000",
            "name": f"Client-{i}",
            "classes": classes[i % 4],
            "status": classes[i % 4][0],
        }
        for i in range(n)
    ]
    return {"summary": {"clients": n}, "clients": clients}


VIEW = FleetView.build(report(250), datetime(2026, 1, 1, tzinfo=UTC))


def ids(rows: Any) -> list[int]:
    return [int(r["client_id"][:8]) for r in rows]


def test_pages_slice_in_report_order() -> None:
    first = VIEW.page(per_page=100)
    assert (first.total, first.page, first.pages) == (250, 1, 3)
    assert ids(first.rows) == list(range(100))
    last = VIEW.page(page=3, per_page=100)
    assert ids(last.rows) == list(range(200, 250))


def test_page_numbers_are_clamped() -> None:
    assert VIEW.page(page=99, per_page=100).page == 3
    assert VIEW.page(page=-5, per_page=100).page == 1
    empty = VIEW.page(query="nobody", per_page=100)
    assert (empty.total, empty.page, empty.pages, list(empty.rows)) == (0, 1, 1, [])


def test_filter_by_class_counts_every_class_a_client_holds() -> None:
    drifted = VIEW.page(status="drifted", per_page=1000)
    assert ids(drifted.rows) == [i for i in range(250) if i % 4 in (1, 2)]
    pending = VIEW.page(status="pending", per_page=1000)
    assert ids(pending.rows) == [i for i in range(250) if i % 4 == 2]
    assert VIEW.page(status="unknown-class", per_page=10).total == 0


def test_search_by_id_or_name_ignores_case() -> None:
    assert ids(VIEW.page(query="client-12", per_page=100).rows) == [12, *range(120, 130)]
    assert ids(VIEW.page(query="00000007-", per_page=100).rows) == [7]
    assert ids(VIEW.page(status="never_applied", query="CLIENT-1", per_page=5).rows) == [
        11,
        15,
        19,
        103,
        107,
    ]


def test_client_lookup() -> None:
    assert VIEW.client("00000042-0000-0000-0000-000000000000")["name"] == "Client-42"
    assert VIEW.client("missing") is None


def test_ttl_cache_reuses_until_refreshed_or_cleared() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    cache = Recomputed(compute, ttl=3600)
    assert cache.peek() is None
    assert (cache.get(), cache.get()) == (1, 1)
    assert cache.get(refresh=True) == 2
    cache.clear()
    assert cache.peek() is None
    assert cache.get() == 3


def test_stale_value_is_served_while_one_thread_recomputes() -> None:
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    cache = Recomputed(compute, ttl=0)
    assert cache.get() == 1  # nothing cached: computed now
    assert cache.get() == 1  # stale: served, recomputed in the background
    cache.wait()
    assert cache.peek() == 2
    assert cache.get(refresh=True) == 3


def test_failed_background_refresh_keeps_the_stale_value() -> None:
    results: list[Any] = [1, RuntimeError("store down")]

    def compute() -> int:
        value = results.pop(0)
        if isinstance(value, Exception):
            raise value
        return int(value)

    cache = Recomputed(compute, ttl=0)
    assert cache.get() == 1
    assert cache.get() == 1
    cache.wait()
    assert cache.peek() == 1


def test_a_computation_begun_before_clear_is_not_kept() -> None:
    cache: Recomputed

    def compute() -> str:
        cache.clear()  # a write lands while the old state is being read
        return "read before the write"

    cache = Recomputed(compute, ttl=3600)
    assert cache.get() == "read before the write"  # the caller still gets its answer
    assert cache.peek() is None  # but the next request reads again
