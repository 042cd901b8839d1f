"""Drift events for `drift --notify` (issue 17): transitions against the drift last notified.

A client whose drift appears is `drifted`, whose drift fingerprint differs from the one last
notified is `changed`, and whose notified drift is gone is `resolved`; a drift seen before with
the same fingerprint is no event. Clients with the same transition and fingerprint (the same
override changed on 40 clients) make one event with a client list. Pure: the caller reads and
writes the state (live/drift_state.py) and gives the time.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from reconciler.model import JSON, OUTPUT_FORMAT_VERSION, fingerprint
from reconciler.plan.drift import ClientDrift, DriftClass, DriftReport

EventKind = Literal["drifted", "changed", "resolved"]
EVENT_KINDS: tuple[EventKind, ...] = ("drifted", "changed", "resolved")


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftSeen:
    """A client's drift as last notified (a row of reconciler_drift_state)."""

    client_id: str
    fingerprint: str
    first_seen: datetime  # drifted since (kept while the drift changes)
    last_seen: datetime
    items: tuple[dict[str, JSON], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EventClient:
    client_id: str
    name: str
    first_seen: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftEvent:
    """One notification: a transition shared by clients with the same drift fingerprint."""

    event: EventKind
    fingerprint: str
    clients: tuple[EventClient, ...]
    items: tuple[dict[str, JSON], ...]

    @property
    def first_seen(self) -> datetime:
        return min(c.first_seen for c in self.clients)

    def state(self, now: datetime) -> tuple[DriftSeen, ...]:
        """The rows to keep once this event was delivered (none after `resolved`)."""
        if self.event == "resolved":
            return ()
        return tuple(
            DriftSeen(
                client_id=c.client_id,
                fingerprint=self.fingerprint,
                first_seen=c.first_seen,
                last_seen=now,
                items=self.items,
            )
            for c in self.clients
        )

    def heal_command(self, desired_dir: str) -> str | None:
        """The command that heals these clients (the store comes from RECONCILER_STORE)."""
        if self.event == "resolved":
            return None
        words = ["reconciler", "drift", "--heal", "--dir", desired_dir]
        for client in self.clients:
            words += ["--client", client.client_id]
        return shlex.join(words)

    def payload(
        self, *, store: str, desired_commit: str | None, desired_dir: str, detected_at: datetime
    ) -> dict[str, JSON]:
        """The webhook body, as schemas/drift-event.schema.json documents it."""
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "kind": "drift_event",
            "event": self.event,
            "fingerprint": self.fingerprint,
            "clients": [
                {
                    "client_id": c.client_id,
                    "name": c.name,
                    "first_seen": c.first_seen.isoformat(),
                }
                for c in self.clients
            ],
            "first_seen": self.first_seen.isoformat(),
            "detected_at": detected_at.isoformat(),
            "items": list(self.items),
            "heal": self.heal_command(desired_dir),
            "store": store,
            "desired_commit": desired_commit,
        }

    @property
    def key(self) -> str:
        """Same event, same key: receivers may drop a repeat (sent as Idempotency-Key)."""
        return fingerprint([self.event, self.fingerprint, [c.client_id for c in self.clients]])


def transitions(
    report: DriftReport, seen: Mapping[str, DriftSeen], now: datetime
) -> tuple[list[DriftEvent], list[str]]:
    """The events of `report` against the drift last notified (`seen`, by client id), and the
    ids of clients still drifted as notified (their last_seen only moves on). Only clients of
    the report count: a shard or `--client` run leaves the others' state alone."""
    groups: dict[tuple[EventKind, str], list[tuple[EventClient, tuple[dict[str, JSON], ...]]]] = {}
    unchanged: list[str] = []
    for client in report.clients:
        before = seen.get(client.client_id)
        if DriftClass.DRIFTED in client.classes:
            if before is not None and before.fingerprint == client.drift_fingerprint:
                unchanged.append(client.client_id)
                continue
            kind: EventKind = "drifted" if before is None else "changed"
            since = now if before is None else before.first_seen
            member = (_member(client, since), client.drift_items)
            groups.setdefault((kind, client.drift_fingerprint), []).append(member)
        elif before is not None:
            member = (_member(client, before.first_seen), before.items)
            groups.setdefault(("resolved", before.fingerprint), []).append(member)
    events = [
        DriftEvent(
            event=kind,
            fingerprint=fp,
            clients=tuple(sorted((m for m, _ in members), key=lambda c: c.client_id)),
            items=members[0][1],
        )
        for (kind, fp), members in groups.items()
    ]
    events.sort(key=lambda e: (EVENT_KINDS.index(e.event), e.clients[0].client_id))
    return events, unchanged


def _member(client: ClientDrift, since: datetime) -> EventClient:
    return EventClient(client_id=client.client_id, name=client.name, first_seen=since)
