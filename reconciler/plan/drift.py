"""Drift classes per client (SPEC §6): in sync, drifted, pending, never applied.

- drifted: live differs from what the reconciler last wrote (someone changed it outside git);
- pending: the desired state would change what the reconciler last wrote;
- never applied: no recorded write yet. Drifted and pending can both hold.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from reconciler.model import (
    JSON,
    NO_RENAMES,
    OUTPUT_FORMAT_VERSION,
    ClientDesired,
    ClientLive,
    Renames,
    fingerprint,
    read_legacy_list,
)
from reconciler.plan.build import plan_client
from reconciler.plan.diff import is_sensitive, json_paths
from reconciler.plan.mask import looks_secret, mask_secret_like
from reconciler.plan.model import ABSENT, SENSITIVE


class DriftClass(StrEnum):
    IN_SYNC = "in_sync"
    DRIFTED = "drifted"
    PENDING = "pending"
    NEVER_APPLIED = "never_applied"


PRIORITY = (DriftClass.DRIFTED, DriftClass.PENDING, DriftClass.NEVER_APPLIED, DriftClass.IN_SYNC)
CLASSES: tuple[str, ...] = tuple(str(c) for c in PRIORITY)
_NAMED = tuple(zip(PRIORITY, CLASSES, strict=True))
LABELS: dict[str, str] = {str(c): str(c).replace("_", " ") for c in PRIORITY}  # for people


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientDrift:
    client_id: str
    name: str = ""
    file: str = ""
    classes: frozenset[DriftClass]
    last_run: int | None = None
    drifted_paths: tuple[str, ...] = ()
    pending_changes: int = 0
    # What drifted, for `drift --notify` (not in to_json): last applied vs live, per store,
    # module and path, sensitive values masked; `drift_fingerprint` tells one drift from another.
    drift_items: tuple[dict[str, JSON], ...] = ()
    drift_fingerprint: str = ""

    @property
    def status(self) -> DriftClass:
        return next(c for c in PRIORITY if c in self.classes)

    def to_json(self) -> dict[str, JSON]:
        classes = [name for c, name in _NAMED if c in self.classes]  # the first is the status
        return {
            "client_id": self.client_id,
            "name": self.name,
            "file": self.file,
            "status": classes[0],
            "classes": classes,
            "last_run": self.last_run,
            "drifted_paths": list(self.drifted_paths),
            "pending_changes": self.pending_changes,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """What `drift --notify URL` did for one URL: events to send, events it accepted, and the
    last error (None when every event was delivered). The URL is shown redacted."""

    url: str
    events: int
    sent: int
    error: str | None = None

    def to_json(self) -> dict[str, JSON]:
        return {"url": self.url, "events": self.events, "sent": self.sent, "error": self.error}


@dataclass(frozen=True, slots=True, kw_only=True)
class DriftReport:
    clients: tuple[ClientDrift, ...]
    store: str = ""
    desired_commit: str | None = None
    notifications: tuple[Notification, ...] = ()  # one per `--notify` URL

    def count(self, cls: DriftClass) -> int:
        return sum(cls in c.classes for c in self.clients)

    @property
    def any_drifted(self) -> bool:
        return any(DriftClass.DRIFTED in c.classes for c in self.clients)

    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(map(str, DriftClass), 0)
        for client in self.clients:  # one pass (a class counts each client that holds it)
            for cls in client.classes:
                counts[cls] += 1
        return {"clients": len(self.clients), **counts}

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "kind": "drift",
            "store": self.store,
            "desired_commit": self.desired_commit,
            "summary": self.summary(),
            "clients": [c.to_json() for c in self.clients],
            **(
                {"notifications": [n.to_json() for n in self.notifications]}
                if self.notifications
                else {}
            ),
        }


def live_paths(before: ClientLive, after: ClientLive) -> tuple[str, ...]:
    """Dotted paths where two live states differ (no values, so nothing sensitive shows)."""
    old, new = before.to_json(), after.to_json()
    return tuple(".".join(path) for path, _, _ in json_paths(old, new))


def drift_items(
    before: ClientLive,
    after: ClientLive,
    sensitive: Mapping[str, Collection[tuple[str, ...]]],
) -> tuple[tuple[dict[str, JSON], ...], str]:
    """What changed outside git, as items: store, module (registry rows), path inside the row
    or legacy column, op, `desired` (as last applied), `live`; sensitive settings masked as the
    plan masks them and, beyond the plan, any value under a secret-like key. Also their
    fingerprint, which hashes sensitive values instead of showing them."""
    shown: list[dict[str, JSON]] = []
    hashed: list[JSON] = []
    for path, old, new in json_paths(before.to_json(), after.to_json()):
        store, module, inner = _locate(path)
        secret = any(looks_secret(key) for key in inner) or (
            module is not None
            and inner[:1] == ("settings",)
            and is_sensitive(inner[1:], sensitive.get(module, ()))
        )
        item: dict[str, JSON] = {
            "store": store,
            "module": module,
            "path": list(inner),
            "op": "add" if old is ABSENT else "remove" if new is ABSENT else "change",
            "sensitive": secret,
        }
        old, new = _present(old), _present(new)
        shown.append({**item, "desired": _masked(old, secret), "live": _masked(new, secret)})
        hashed.append({**item, "desired": _hashed(old, secret), "live": _hashed(new, secret)})
    return tuple(shown), fingerprint(hashed)


def _locate(path: tuple[str, ...]) -> tuple[str, str | None, tuple[str, ...]]:
    """("registry", module, *inner) or ("legacy", *inner) -> store, module, inner path."""
    if path[:1] == ("registry",) and len(path) > 1:
        return "registry", path[1], path[2:]
    return path[0] if path else "legacy", None, path[1:]


def _present(value: JSON) -> JSON:
    return None if value is ABSENT else value


def _masked(value: JSON, secret: bool) -> JSON:
    if secret:
        return SENSITIVE
    if isinstance(value, dict):
        return mask_secret_like(value)
    if isinstance(value, list):
        return [mask_secret_like(v) if isinstance(v, dict) else v for v in value]
    return value


def _hashed(value: JSON, secret: bool) -> JSON:
    return {"sha256": fingerprint(value)} if secret else value


def classify(
    desired: ClientDesired,
    live: ClientLive,
    last: tuple[int, ClientLive] | None,
    *,
    legacy_defaults: Sequence[str],
    sensitive: Mapping[str, Collection[tuple[str, ...]]],
    renames: Renames = NO_RENAMES,
) -> ClientDrift:
    """The drift classes of one client from desired, live and the last recorded write. With
    `renames`, a legacy list naming a module by its old id is the same as by its new id."""
    classes: set[DriftClass] = set()
    drifted: tuple[str, ...] = ()
    items: tuple[dict[str, JSON], ...] = ()
    drift_fp = ""
    if last is None:
        classes.add(DriftClass.NEVER_APPLIED)
        reference = live
    else:
        reference = last[1]
        if _read(reference, renames) != _read(live, renames):
            classes.add(DriftClass.DRIFTED)
            drifted = live_paths(_read(reference, renames), _read(live, renames))
            items, drift_fp = drift_items(
                _read(reference, renames), _read(live, renames), sensitive
            )
    pending = plan_client(
        desired, reference, legacy_defaults=legacy_defaults, sensitive=sensitive, renames=renames
    )
    writes = sum(not c.informational for c in pending.changes)
    if last is not None and writes:
        classes.add(DriftClass.PENDING)
    if not classes:
        classes.add(DriftClass.IN_SYNC)
    return ClientDrift(
        client_id=desired.client_id,
        name=desired.name,
        file=desired.file,
        classes=frozenset(classes),
        last_run=None if last is None else last[0],
        drifted_paths=drifted,
        pending_changes=writes,
        drift_items=items,
        drift_fingerprint=drift_fp,
    )


def _read(live: ClientLive, renames: Renames) -> ClientLive:
    """`live` with its legacy list read through `renames` (old ids as the new modules)."""
    if live.legacy is None or not renames:
        return live
    modules = read_legacy_list(live.legacy.modules_enabled, renames)
    return replace(live, legacy=replace(live.legacy, modules_enabled=modules))
