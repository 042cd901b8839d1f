"""`drift --notify URL`: a webhook per drift transition, once (issue 17).

Delivery and state, the rule: an event counts as notified, and its clients' drift state is
saved, when at least one URL accepted it. When every URL failed, nothing is saved for it, so
the next run finds the same transition and sends it again; a URL that failed while another
accepted the event misses it (reported in `notifications`). A URL that failed an event after
its retries is not tried again for the rest of the run, so a dead receiver costs one retry
cycle, not one per event. Nothing here fails the drift: errors end up in `Notification.error`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from reconciler.api._store import open_store
from reconciler.errors import ReconcilerError
from reconciler.live.drift_state import read_drift_state, save_drift_state
from reconciler.plan.drift import DriftReport, Notification
from reconciler.plan.events import DriftEvent, DriftSeen, transitions
from reconciler.redact import redact_urls
from reconciler.results import utc_now
from reconciler.webhook import DeliveryFailed, Retry, new_client, post_json, redact_url

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Target:
    url: str
    sent: int = 0
    error: str | None = None
    events: int = 0
    down: bool = field(default=False)


def notify_drift(
    store_url: str,
    report: DriftReport,
    urls: Sequence[str],
    *,
    desired_dir: str = "desired-state",
    retry: Retry | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> tuple[Notification, ...]:
    """POST one JSON event (schemas/drift-event.schema.json) per drift transition of
    `report` to every URL of `urls`, and record what was notified in the store.

    Args:
        store_url: the store `report` was made from (its drift state lives there).
        report: a `drift` result; only its clients are compared (shards stay apart).
        urls: webhook URLs; each gets every event.
        desired_dir: named in the heal command of the events.
        retry: tries and backoff per delivery (default: 3 tries, 1 s then 2 s apart).
        clock: the time (tests fake it).

    Returns:
        One `Notification` per URL (redacted URL, events, accepted, last error).

    Raises:
        Nothing for a failed delivery or store error: they are in the results.
    """
    targets = [_Target(url=u) for u in urls]
    if not targets:
        return ()
    try:
        _notify(store_url, report, targets, desired_dir, retry or Retry(), clock())
    except ReconcilerError as exc:  # the store: the drift result itself stands
        message = redact_urls(exc.message)
        log.warning("notify: drift state not read or saved: %s", message)
        for target in targets:
            target.error = target.error or f"drift state: {message}"
    return tuple(
        Notification(url=redact_url(t.url), events=t.events, sent=t.sent, error=t.error)
        for t in targets
    )


def _notify(
    store_url: str,
    report: DriftReport,
    targets: list[_Target],
    desired_dir: str,
    retry: Retry,
    now: datetime,
) -> None:
    with open_store(store_url) as store:
        with store.connect() as conn:
            seen = read_drift_state(conn, [c.client_id for c in report.clients])
        events, still = transitions(report, seen, now)
        for target in targets:
            target.events = len(events)
        delivered = _deliver(events, targets, report, desired_dir, retry, now)
        rows: list[DriftSeen] = [row for e in delivered for row in e.state(now)]
        resolved = [c.client_id for e in delivered if e.event == "resolved" for c in e.clients]
        with store.engine.begin() as conn:
            save_drift_state(conn, rows, resolved=resolved, still=still, now=now)
    log.info(
        "notify: %d event(s), %d delivered, %d client(s) unchanged",
        len(events),
        len(delivered),
        len(still),
    )


def _deliver(
    events: Sequence[DriftEvent],
    targets: list[_Target],
    report: DriftReport,
    desired_dir: str,
    retry: Retry,
    now: datetime,
) -> list[DriftEvent]:
    delivered: list[DriftEvent] = []
    if not events:
        return delivered
    with new_client() as client:
        for event in events:
            body = event.payload(
                store=report.store,
                desired_commit=report.desired_commit,
                desired_dir=desired_dir,
                detected_at=now,
            )
            headers = {"content-type": "application/json", "idempotency-key": event.key}
            accepted = False
            for target in targets:
                if target.down:
                    continue
                try:
                    post_json(client, target.url, body, retry=retry, headers=headers)
                except DeliveryFailed as exc:
                    target.error, target.down = str(exc), True
                    log.info("notify: %s: %s", redact_url(target.url), exc)
                    continue
                target.sent += 1
                accepted = True
            if accepted:
                delivered.append(event)
    return delivered
