"""`GET /metrics`: the fleet for Prometheus (issue 17), read-only and without a token.

A custom collector reads, at each scrape, the dashboard's cached drift report (the same
document as `drift --format json`, recomputed in the background after the cache TTL) and the
run totals of the history tables. Labels are drift classes, run kinds and statuses only: never
a client name or id, a URL or a setting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler import api
from reconciler.api.history import KindTotals
from reconciler.errors import ReconcilerError
from reconciler.model import JSON
from reconciler.plan.drift import CLASSES
from reconciler.redact import redact_urls
from reconciler.web.board import Dashboard

log = logging.getLogger(__name__)

RUN_STATUSES = ("running", "done", "partial", "failed")


class FleetCollector(Collector):
    """Metrics over one dashboard's drift report and the store's run history."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def describe(self) -> Iterable[Metric]:
        """The metric names, without reading anything (registering must not classify)."""
        return list(self._drift(None)) + list(self._runs([])) + [_up(0)]

    def collect(self) -> Iterable[Metric]:
        ok = 1
        try:
            view = self.board.fleet.get()
            yield from self._drift(view.report)
        except ReconcilerError as exc:
            ok = 0
            log.warning("metrics: drift report unavailable: %s", redact_urls(exc.message))
        try:
            yield from self._runs(api.totals(self.board.config.store_url))
        except ReconcilerError as exc:
            ok = 0
            log.warning("metrics: run history unavailable: %s", redact_urls(exc.message))
        yield _up(ok)

    def _drift(self, report: dict[str, JSON] | None) -> Iterator[Metric]:
        fleet = GaugeMetricFamily(
            "reconciler_fleet_clients", "Clients in the desired state (drift report)."
        )
        classes = GaugeMetricFamily(
            "reconciler_drift_clients",
            "Clients per drift class; drifted and pending can both hold (drift --format json "
            "summary).",
            labels=["class"],
        )
        pending = GaugeMetricFamily(
            "reconciler_pending_changes", "Changes an apply would write, over all clients."
        )
        stamp = GaugeMetricFamily(
            "reconciler_drift_report_timestamp_seconds",
            "When the drift report behind these numbers was computed (Unix time).",
        )
        if report is not None:
            summary, clients = report["summary"], report["clients"]
            fleet.add_metric([], summary["clients"])
            for name in CLASSES:
                classes.add_metric([name], summary[name])
            pending.add_metric([], sum(c["pending_changes"] for c in clients))
            computed = self.board.fleet.computed_at
            if computed is not None:
                stamp.add_metric([], computed.timestamp())
        yield from (fleet, classes, pending, stamp)

    def _runs(self, totals: list[KindTotals]) -> Iterator[Metric]:
        runs = CounterMetricFamily(
            "reconciler_runs", "Recorded runs per kind and final status.", labels=["kind", "status"]
        )
        writes = CounterMetricFamily(
            "reconciler_client_writes",
            "Client writes recorded by runs of each kind (apply, heal, revert ...).",
            labels=["kind"],
        )
        started = GaugeMetricFamily(
            "reconciler_last_run_timestamp_seconds",
            "Start of the newest run of each kind (Unix time).",
            labels=["kind"],
        )
        duration = GaugeMetricFamily(
            "reconciler_last_run_duration_seconds",
            "Duration of the newest run of each kind, once finished.",
            labels=["kind"],
        )
        status = GaugeMetricFamily(
            "reconciler_last_run_status",
            "Status of the newest run of each kind: 1 for its status, 0 for the others.",
            labels=["kind", "status"],
        )
        changed = GaugeMetricFamily(
            "reconciler_last_run_clients",
            "Clients the newest run of each kind wrote.",
            labels=["kind"],
        )
        for kind in totals:
            for name, count in kind.runs.items():
                runs.add_metric([kind.kind, name], count)
            writes.add_metric([kind.kind], kind.clients)
            last = kind.last
            started.add_metric([kind.kind], last.started_at.timestamp())
            if last.finished_at is not None:
                seconds = (last.finished_at - last.started_at).total_seconds()
                duration.add_metric([kind.kind], max(seconds, 0.0))
            for name in sorted({*RUN_STATUSES, last.status}):
                status.add_metric([kind.kind, name], 1.0 if name == last.status else 0.0)
            changed.add_metric([kind.kind], last.clients)
        yield from (runs, writes, started, duration, status, changed)


def _up(ok: int) -> Metric:
    up = GaugeMetricFamily(
        "reconciler_up", "1 when the drift report and the run history could be read."
    )
    up.add_metric([], ok)
    return up


def registry_for(board: Dashboard) -> CollectorRegistry:
    """A registry of this dashboard's collector only (no process metrics of the server)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FleetCollector(board))
    return registry


def metrics(request: Request) -> Response:
    """The Prometheus text format (runs in the thread pool: the first scrape may classify)."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


ROUTES = [Route("/metrics", metrics)]
