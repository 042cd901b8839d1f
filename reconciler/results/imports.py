"""`import`'s result: per client and module, where it lives and how its file holds it."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model import JSON, OUTPUT_FORMAT_VERSION, source_counts


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedModule:
    """One live module of an imported client: where it lives and how the file holds it."""

    id: str
    source: str  # legacy | registry | unified
    enabled: bool
    version: str | None
    handling: str  # listed | preserve | omit | unknown (not in the catalog)
    conflicts: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "source": self.source,
            "enabled": self.enabled,
            "version": self.version,
            "handling": self.handling,
            "conflicts": list(self.conflicts),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportedClient:
    """One client of an import: its file and what happened to it."""

    client_id: str
    file: str  # the path written (or that would have been)
    status: str  # written | overwritten | exists | failed
    strategy: str = "merge"
    legacy_row: bool = True
    modules: tuple[ImportedModule, ...] = ()
    conflicts: tuple[str, ...] = ()  # client-level: overrides, failures
    error: str = ""
    secret_variables: tuple[tuple[str, str, str], ...] = ()  # (env variable, module, setting)

    @property
    def conflict_count(self) -> int:
        return len(self.conflicts) + sum(len(m.conflicts) for m in self.modules)

    def warnings(self) -> list[str]:
        """Every conflict as one line: `client ID: module: text`."""
        lines = [f"client {self.client_id}: {c}" for c in self.conflicts]
        for module in self.modules:
            lines += [f"client {self.client_id}: {module.id}: {c}" for c in module.conflicts]
        return lines

    def to_json(self) -> dict[str, JSON]:
        sources = source_counts(m.source for m in self.modules)
        return {
            "client_id": self.client_id,
            "file": self.file,
            "status": self.status,
            "strategy": self.strategy,
            "legacy_row": self.legacy_row,
            "sources": sources,
            "modules": [m.to_json() for m in self.modules],
            "conflicts": list(self.conflicts),
            "error": self.error,
            "secret_variables": [
                {"variable": v, "module": m, "setting": p} for v, m, p in self.secret_variables
            ],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportReport:
    """Result of `import`: one entry per client, in client id order."""

    store: str
    out_dir: str
    clients: tuple[ImportedClient, ...] = ()

    @property
    def ok(self) -> bool:
        """False when a file was refused (exists, no --force) or a client failed: exit 1."""
        return all(c.status in ("written", "overwritten") for c in self.clients)

    def to_json(self) -> dict[str, JSON]:
        counts = {s: 0 for s in ("written", "overwritten", "exists", "failed")}
        for client in self.clients:
            counts[client.status] += 1
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "kind": "import",
            "store": self.store,
            "out_dir": self.out_dir,
            "summary": {**counts, "conflicts": sum(c.conflict_count for c in self.clients)},
            "clients": [c.to_json() for c in self.clients],
            "secret_variables": [
                {"client_id": c.client_id, **v}
                for c in self.clients
                for v in c.to_json()["secret_variables"]
            ],
        }
