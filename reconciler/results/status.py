"""`init` and `status` results: the store set up, and the unified view of clients."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.model import JSON, OUTPUT_FORMAT_VERSION, UnifiedModule, source_counts


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientStatus:
    """One client of `status`: its unified view (settings already masked) and legacy row."""

    client_id: str
    name: str = ""
    # None: no legacy row (legacy defaults apply); otherwise the row's modules_enabled.
    legacy_modules: tuple[str, ...] | None = None
    overrides: Mapping[str, JSON] = field(default_factory=dict)  # legacy override columns
    modules: tuple[UnifiedModule, ...] = ()

    @property
    def enabled_count(self) -> int:
        return sum(1 for m in self.modules if m.enabled)

    @property
    def conflict_count(self) -> int:
        return sum(len(m.conflicts) for m in self.modules)

    def sources(self) -> dict[str, int]:
        return source_counts(m.source for m in self.modules)

    def to_json(self) -> dict[str, JSON]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "legacy_row": self.legacy_modules is not None,
            "legacy_modules_enabled": (
                None if self.legacy_modules is None else list(self.legacy_modules)
            ),
            "overrides": {k: self.overrides[k] for k in sorted(self.overrides)},
            "enabled_count": self.enabled_count,
            "sources": self.sources(),
            "conflict_count": self.conflict_count,
            "modules": [m.to_json() for m in self.modules],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """Result of `status`: the fleet (one line per client) or chosen clients in detail."""

    store: str  # display URL, password as ***
    legacy_defaults: tuple[str, ...]
    clients: tuple[ClientStatus, ...]
    detailed: bool = False  # True when clients were chosen with --client
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "store": self.store,
            "legacy_defaults": list(self.legacy_defaults),
            "detailed": self.detailed,
            "clients": [c.to_json() for c in self.clients],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InitResult:
    """Result of `init`: the store, its schema version and what was done."""

    store: str  # display URL, password as ***
    schema_version: int
    created_legacy_table: bool
    applied: tuple[tuple[int, str], ...] = ()  # (version, description) of migrations run
    demo_clients: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "store": self.store,
            "schema_version": self.schema_version,
            "created_legacy_table": self.created_legacy_table,
            "applied": [{"version": v, "description": d} for v, d in self.applied],
            "demo_clients": list(self.demo_clients),
        }
