"""Frozen dataclasses that every layer shares: settings, catalog, desired and live client state.

JSON values inside these objects (settings, overrides) are plain dicts/lists/scalars and are
never mutated after construction; `canonical_json` gives them a stable byte form for hashing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, TypeGuard

from reconciler import jsontext
from reconciler.rollout_model import Wave

JSON = Any
OUTPUT_FORMAT_VERSION = 1  # the `format_version` of every command's JSON output (SPEC §7)
DEFAULT_STORE = "sqlite:///reconciler.db"  # the embedded store of the quick start
# Column lengths of the reconciler's tables (live/tables.py): inputs are checked against them
# before anything is written, so PostgreSQL never refuses one mid-run (issue 18).
ACTOR_MAX = 200  # reconciler_runs.actor
MODULE_ID_MAX = 200  # reconciler_modules.id, reconciler_client_modules.module_id
MODULE_NAME_MAX = 200  # reconciler_modules.name
MODULE_VERSION_MAX = 100  # reconciler_modules.version, reconciler_client_modules.version
REASON_MAX = 2000  # reconciler_runs.reason is TEXT; longer reasons are refused, not cut
FILE_KINDS: tuple[str, ...] = (
    "settings",
    "module",
    "profile",
    "client",
    "policy",
)  # schemas/<kind>
OUTPUT_KINDS: tuple[str, ...] = ("plan",)  # schemas/<kind>.schema.json of command output
StrategyName = Literal["merge", "replace", "preserve"]
STRATEGY_NAMES: tuple[StrategyName, ...] = ("merge", "replace", "preserve")

# Client-file override key -> legacy column of client_app_overrides (SPEC §3, §4).
OVERRIDE_COLUMNS: dict[str, str] = {
    "theme": "theme_overrides",
    "consultation": "consultation_config",
    "plan_catalog": "plan_catalog_overrides",
    "catalog": "catalog_overrides",
}
ORIGINAL_LEGACY_DEFAULTS: tuple[str, ...] = ("analytics", "automation", "integrations", "support")


def canonical_json(value: JSON) -> str:
    """Stable text for a JSON value: sorted keys, no whitespace, UTF-8 kept (the bytes of
    `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`)."""
    return jsontext.canonical(value)


def fingerprint(value: JSON, *, checked: bool = False) -> str:
    """sha256 of the canonical JSON form; equal values give equal fingerprints. `checked`:
    the caller knows `jsontext.plain(value)` holds."""
    return hashlib.sha256(jsontext.canonical_bytes(value, checked=checked)).hexdigest()


# Exact types that are never a Mapping: answered without the ABC machinery (isinstance against
# collections.abc.Mapping costs a microsecond per call on the JSON values a fleet walks).
_NOT_MAPPINGS = frozenset({str, int, float, bool, type(None), list, tuple})


def is_mapping(value: object) -> TypeGuard[Mapping[str, JSON]]:
    """`isinstance(value, Mapping)`, fast for the types JSON values have."""
    kind = type(value)
    if kind is dict:
        return True
    return kind not in _NOT_MAPPINGS and isinstance(value, Mapping)


def is_secret_ref(value: JSON) -> bool:
    """A secret reference `{secret: {...}}` standing for a sensitive setting's value (issue 18)."""
    return is_mapping(value) and len(value) == 1 and "secret" in value


def deep_merge(base: Mapping[str, JSON], over: Mapping[str, JSON]) -> dict[str, JSON]:
    """A new dict: `over` deep-merged onto `base`; dicts merge, lists/scalars replace (SPEC §3).
    A secret reference replaces as a whole, like a scalar (it stands for one value)."""
    merged = dict(base)
    if not merged:  # nothing to merge into (a module's first layer): `over`'s items as they are
        merged.update(over)
        return merged
    for key, value in over.items():
        current = merged.get(key)
        if (
            is_mapping(value)
            and is_mapping(current)
            and not is_secret_ref(value)
            and not is_secret_ref(current)
        ):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True, slots=True, kw_only=True)
class Safety:
    """Thresholds that stop a run before any write unless --force (SPEC §5)."""

    max_disable_share: float = 0.5  # share of a client's enabled modules disabled in one run
    max_clients_changed: int | None = None  # None: no limit


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """reconciler.yaml, resolved with its defaults."""

    legacy_defaults: tuple[str, ...] = ORIGINAL_LEGACY_DEFAULTS
    default_strategy: StrategyName = "merge"
    safety: Safety = field(default_factory=Safety)
    max_file_bytes: int = 1024 * 1024
    # `defaults:` block: the base layer of every client (modules, overrides), SPEC §3.
    defaults: Mapping[str, JSON] = field(default_factory=dict)
    # `secrets.plaintext`: a clear-text sensitive value is a warning or an error (issue 18).
    plaintext_secrets: Literal["warn", "forbid"] = "warn"
    rollout: tuple[Wave, ...] = ()  # `rollout.waves`; () when reconciler.yaml has none


@dataclass(frozen=True, slots=True, kw_only=True)
class Dependency:
    id: str
    version: str = "*"  # npm-style range
    optional: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ModuleDef:
    """One module of the catalog (modules/<id>.yaml)."""

    id: str
    name: str
    version: str  # exact semver
    description: str = ""
    capabilities: tuple[str, ...] = ()
    dependencies: tuple[Dependency, ...] = ()
    conflicts: tuple[str, ...] = ()
    settings_schema: Mapping[str, JSON] = field(default_factory=dict)
    default_settings: Mapping[str, JSON] = field(default_factory=dict)
    protected: bool = False
    # JSON paths (tuples of keys) inside settings whose schema property has `sensitive: true`.
    sensitive_paths: frozenset[tuple[str, ...]] = frozenset()
    # Legacy ids this module replaces: the legacy list's old id is read as this module (issue 13).
    replaces: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "capabilities": list(self.capabilities),
            "dependencies": [
                {"id": d.id, "version": d.version, "optional": d.optional}
                for d in self.dependencies
            ],
            "conflicts": list(self.conflicts),
            "settings_schema": self.settings_schema,
            "default_settings": self.default_settings,
            "protected": self.protected,
            # Only when set, so definitions synced before renames existed stay byte-identical.
            **({"replaces": list(self.replaces)} if self.replaces else {}),
        }


Renames = Mapping[str, str]  # legacy (old) module id -> the module that replaces it
NO_RENAMES: Renames = MappingProxyType({})


def rename_map(catalog: Iterable[ModuleDef]) -> dict[str, str]:
    """Old id -> new id from the modules' `replaces` (validate rejects ids claimed twice)."""
    return {old: module.id for module in catalog for old in module.replaces}


def read_legacy_list(modules: Sequence[str], renames: Renames = NO_RENAMES) -> tuple[str, ...]:
    """The legacy list as the reconciler reads it: each old id as the module replacing it, in
    place; an id listed twice that way is kept once, at its first place."""
    if not renames:
        return tuple(modules)
    return tuple(dict.fromkeys(renames.get(m, m) for m in modules))


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredModule:
    """A module as the resolved desired state wants it for one client."""

    enabled: bool = True
    version: str = ""  # exact catalog version the client gets (its range was checked)
    settings: Mapping[str, JSON] = field(default_factory=dict)  # default_settings deep-merged
    strategy: StrategyName | None = None  # None: the client's strategy

    def to_json(self) -> dict[str, JSON]:
        return {
            "enabled": self.enabled,
            "version": self.version,
            "settings": self.settings,
            "strategy": self.strategy,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientDesired:
    """One client after resolution: settings defaults -> profiles in order -> client file."""

    client_id: str
    name: str = ""
    file: str = ""  # path relative to the desired-state root
    profiles: tuple[str, ...] = ()
    strategy: StrategyName = "merge"
    modules: Mapping[str, DesiredModule] = field(default_factory=dict)
    # Keys of OVERRIDE_COLUMNS that the desired state mentions; absent keys are not managed.
    overrides: Mapping[str, JSON] = field(default_factory=dict)
    # Free-form labels for rollout selectors: not module state, so not in to_json/fingerprint.
    labels: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSON]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "file": self.file,
            "profiles": list(self.profiles),
            "strategy": self.strategy,
            "modules": {k: self.modules[k].to_json() for k in sorted(self.modules)},
            "overrides": {k: self.overrides[k] for k in sorted(self.overrides)},
        }

    def fingerprint(self) -> str:
        return fingerprint(self.to_json())


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredState:
    """Everything loaded from a desired-state directory (or a git revision of it)."""

    root: str
    settings: Settings
    catalog: Mapping[str, ModuleDef]
    clients: Mapping[str, ClientDesired]  # client_id -> resolved client
    commit: str | None = None  # git commit of the tree, when it is in a repository
    # profile name -> its data (description, modules, overrides), as written in profiles/.
    profiles: Mapping[str, Mapping[str, JSON]] = field(default_factory=dict)
    # Compiled policy rules of policies/*.yaml (desired/policy.py `Rule`; plan/policy.py
    # evaluates them through its `PolicyRule` protocol), in file order (issue 16).
    policies: tuple[Any, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyRow:
    """A row of client_app_overrides as stored (column name -> JSON value)."""

    modules_enabled: tuple[str, ...] = ()
    theme_overrides: JSON = None
    consultation_config: JSON = None
    plan_catalog_overrides: JSON = None
    catalog_overrides: JSON = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "modules_enabled": list(self.modules_enabled),
            "theme_overrides": self.theme_overrides,
            "consultation_config": self.consultation_config,
            "plan_catalog_overrides": self.plan_catalog_overrides,
            "catalog_overrides": self.catalog_overrides,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> LegacyRow:
        return cls(
            modules_enabled=tuple(data.get("modules_enabled") or ()),
            theme_overrides=data.get("theme_overrides"),
            consultation_config=data.get("consultation_config"),
            plan_catalog_overrides=data.get("plan_catalog_overrides"),
            catalog_overrides=data.get("catalog_overrides"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistryModule:
    """A row of the registry's per-client module state."""

    enabled: bool
    version: str | None = None
    settings: Mapping[str, JSON] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSON]:
        return {"enabled": self.enabled, "version": self.version, "settings": self.settings}

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> RegistryModule:
        return cls(
            enabled=bool(data["enabled"]),
            version=data.get("version"),
            settings=data.get("settings") or {},
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientLive:
    """Live state of one client in both stores. `legacy is None` means no legacy row."""

    client_id: str
    legacy: LegacyRow | None = None
    registry: Mapping[str, RegistryModule] = field(default_factory=dict)

    def to_json(self) -> dict[str, JSON]:
        return {
            "client_id": self.client_id,
            "legacy": None if self.legacy is None else self.legacy.to_json(),
            "registry": {k: self.registry[k].to_json() for k in sorted(self.registry)},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, JSON]) -> ClientLive:
        legacy = data.get("legacy")
        return cls(
            client_id=str(data["client_id"]),
            legacy=None if legacy is None else LegacyRow.from_json(legacy),
            registry={
                k: RegistryModule.from_json(v) for k, v in (data.get("registry") or {}).items()
            },
        )

    def fingerprint(self) -> str:
        return fingerprint(self.to_json())

    def legacy_modules(
        self, legacy_defaults: Sequence[str], renames: Renames = NO_RENAMES
    ) -> tuple[str, ...]:
        """What old code sees as enabled: the row's list, or the legacy defaults without a row
        (SPEC §4: no row means the defaults; `[]` means no modules); with `renames`, each old
        id read as the module that replaces it (issue 13)."""
        listed = tuple(legacy_defaults) if self.legacy is None else self.legacy.modules_enabled
        return read_legacy_list(listed, renames)


ModuleSource = Literal["legacy", "registry", "unified"]  # where a module of the unified view lives
SOURCES: tuple[ModuleSource, ...] = ("legacy", "registry", "unified")


def source_counts(sources: Iterable[str]) -> dict[str, int]:
    """How many modules come from each store: {"legacy": n, "registry": n, "unified": n}."""
    counts: dict[str, int] = dict.fromkeys(SOURCES, 0)
    for source in sources:
        counts[source] += 1
    return counts


@dataclass(frozen=True, slots=True, kw_only=True)
class UnifiedModule:
    """One module of a client's unified view (SPEC §4)."""

    id: str
    enabled: bool
    version: str | None
    settings: Mapping[str, JSON]
    source: ModuleSource
    conflicts: tuple[str, ...] = ()  # human-readable disagreements between the stores

    def to_json(self) -> dict[str, JSON]:
        return {
            "id": self.id,
            "enabled": self.enabled,
            "version": self.version,
            "settings": self.settings,
            "source": self.source,
            "conflicts": list(self.conflicts),
        }
