"""Resolve a client: settings defaults -> profiles in order -> client file (SPEC §3).

Dicts merge deeply, lists and scalars replace. The merge of defaults and a given list of
profiles is shared by every client that lists the same profiles, so per client only the
modules its own file mentions cost anything. A problem is reported in the file (layer) that
last set the offending value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.desired.catalog import Catalog, npm_range, satisfies
from reconciler.desired.secrets import ref_paths, secret_problems
from reconciler.desired.yamlsafe import JsonPath, YamlFile
from reconciler.errors import Problem
from reconciler.model import JSON, ClientDesired, DesiredModule, Settings, deep_merge


@dataclass(frozen=True, slots=True)
class Layer:
    """One resolution layer: the file holding it and where `modules`/`overrides` sit in it."""

    yf: YamlFile
    base: JsonPath  # ("defaults",) in reconciler.yaml, () in profiles and client files
    data: Mapping[str, JSON]  # {"modules": ..., "overrides": ...}
    label: str  # "reconciler.yaml defaults", "profile growth", "client file"


@dataclass(slots=True)
class _Base:
    """Defaults and one list of profiles, merged once for every client that uses them."""

    layers: list[Layer]
    modules: dict[str, JSON]
    overrides: dict[str, JSON]
    desired: dict[str, DesiredModule] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def _has(data: JSON, path: JsonPath) -> bool:
    for part in path:
        if not isinstance(data, dict | list):
            return False
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return False
    return True


class Resolver:
    """Resolves client files against settings, profiles and the catalog."""

    def __init__(
        self,
        settings: Settings,
        defaults: Layer | None,
        profiles: Mapping[str, Layer],
        broken_profiles: set[str],
        catalog: Catalog,
    ) -> None:
        self.settings = settings
        self.defaults = defaults
        self.profiles = profiles
        self.broken_profiles = broken_profiles
        self.catalog = catalog
        self._bases: dict[tuple[str, ...], _Base] = {}
        self._enabled_issues: dict[frozenset[str], list[tuple[str, str, str]]] = {}

    def check_shared(self) -> list[Problem]:
        """Problems of the defaults alone and of each profile over them, used or not."""
        problems = list(self._base(()).problems)
        for name in sorted(self.profiles):
            problems.extend(self._base((name,)).problems)
        for layer in [self.defaults, *self.profiles.values()]:
            if layer is not None:
                problems.extend(self._secrets(layer))
        return problems

    def _secrets(self, layer: Layer) -> list[Problem]:
        """Secret references and clear-text sensitive values in one layer's settings."""
        modules = layer.data.get("modules")
        if not isinstance(modules, Mapping):
            return []
        sensitive = {
            m: self.catalog.modules[m].sensitive_paths for m in modules if m in self.catalog.modules
        }
        return secret_problems(
            layer.yf, (*layer.base, "modules"), modules, sensitive, self.settings.plaintext_secrets
        )

    def resolve(self, yf: YamlFile) -> tuple[ClientDesired | None, list[Problem]]:
        """The resolved client, or None when its problems make resolution meaningless."""
        data = yf.data
        problems: list[Problem] = []
        names: list[str] = data.get("profiles", [])
        for i, name in enumerate(names):
            if name in self.broken_profiles:
                return None, problems  # the profile's own problems are reported already
            if name not in self.profiles:
                reason = f"unknown profile {name!r} (no profiles/{name}.yaml)"
                problems.append(yf.problem(("profiles", i), reason))
        base = self._base(tuple(n for n in names if n in self.profiles))
        problems.extend(base.problems)
        own: dict[str, JSON] = data.get("modules", {})
        layers = [*base.layers, Layer(yf, (), data, "client file")]
        modules = dict(base.desired)
        for module_id, entry in own.items():
            if module_id not in self.catalog.modules:
                if module_id not in self.catalog.broken:
                    reason = f"unknown module {module_id!r} (no modules/{module_id}.yaml)"
                    problems.append(yf.problem(("modules", module_id), reason, key=True))
                modules.pop(module_id, None)
                continue
            merged = deep_merge(base.modules.get(module_id, {}), entry)
            modules[module_id] = self._desired(module_id, merged, layers, problems)
        self._check_enabled(yf, layers, modules, problems)
        problems.extend(self._secrets(layers[-1]))
        overrides = data.get("overrides")
        strategy = data.get("strategy", self.settings.default_strategy)
        client = ClientDesired(
            client_id=data["client_id"],
            name=data.get("name", ""),
            file=yf.file,
            profiles=tuple(names),
            strategy=strategy,
            modules=modules,
            overrides=deep_merge(base.overrides, overrides) if overrides else base.overrides,
            labels=data.get("labels", {}),
        )
        return client, problems

    def _base(self, names: tuple[str, ...]) -> _Base:
        base = self._bases.get(names)
        if base is None:
            layers = ([self.defaults] if self.defaults else []) + [self.profiles[n] for n in names]
            modules: dict[str, JSON] = {}
            overrides: dict[str, JSON] = {}
            for layer in layers:
                modules = deep_merge(modules, layer.data.get("modules", {}))
                overrides = deep_merge(overrides, layer.data.get("overrides", {}))
            base = _Base(layers, modules, overrides)
            for module_id, entry in modules.items():
                if module_id in self.catalog.modules:  # unknown ids are reported per layer
                    base.desired[module_id] = self._desired(module_id, entry, layers, base.problems)
            self._bases[names] = base
        return base

    def _desired(
        self,
        module_id: str,
        entry: Mapping[str, JSON],
        layers: list[Layer],
        problems: list[Problem],
    ) -> DesiredModule:
        """One module's desired state; range and settings problems go where they were set."""
        module = self.catalog.modules[module_id]
        wanted = entry.get("version")
        if wanted is not None:
            at = ("modules", module_id, "version")
            if npm_range(wanted) is None:
                reason = f"{wanted!r} is not a valid version range (npm style, e.g. ^1.2.0)"
                problems.append(self._blame(layers, at, module_id, reason))
            elif not satisfies(module.version, wanted):
                reason = (
                    f"{module_id} {wanted} is not satisfied by the catalog version {module.version}"
                )
                problems.append(self._blame(layers, at, module_id, reason))
        given = entry.get("settings")
        settings = deep_merge(module.default_settings, given) if given else module.default_settings
        validator = self.catalog.validators.get(module_id)
        if given and validator is not None:
            refs = ref_paths(settings, module.sensitive_paths)  # checked by `_secrets`
            for path, key, reason in validator.findings_outside(settings, refs):
                full = ("modules", module_id, "settings", *path)
                problems.append(self._blame(layers, full, module_id, reason, key=key))
        return DesiredModule(
            enabled=entry.get("enabled", True),
            version=module.version,
            settings=settings,
            strategy=entry.get("strategy"),
        )

    def _blame(
        self, layers: list[Layer], path: JsonPath, module_id: str, reason: str, *, key: bool = False
    ) -> Problem:
        """A problem in the last layer that sets `path` (or its nearest parent)."""
        for cut in range(len(path), 1, -1):
            for layer in reversed(layers):
                if _has(layer.data, path[:cut]):
                    return layer.yf.problem(
                        (*layer.base, *path), reason, key=key and cut == len(path)
                    )
        module_file = self.catalog.files[module_id]
        inner = ("default_settings", *path[3:])
        return module_file.problem(inner, reason, key=key)

    def _check_enabled(
        self,
        yf: YamlFile,
        layers: list[Layer],
        modules: Mapping[str, DesiredModule],
        problems: list[Problem],
    ) -> None:
        """Required dependencies enabled, no two enabled modules in conflict (SPEC §3)."""
        enabled = frozenset(m for m, d in modules.items() if d.enabled)
        issues = self._enabled_issues.get(enabled)
        if issues is None:
            issues = self._enabled_issues[enabled] = self._issues(enabled)
        for kind, module_id, other in issues:
            if kind == "dependency":
                reason = f"{module_id} needs {other}, which is not enabled"
            else:
                if _has(yf.data, ("modules", other)) and not _has(yf.data, ("modules", module_id)):
                    module_id, other = other, module_id  # point at what this file enables
                reason = f"{module_id} conflicts with {other}; enable only one of them"
            problems.append(self._client_problem(yf, layers, module_id, reason))

    def _issues(self, enabled: frozenset[str]) -> list[tuple[str, str, str]]:
        catalog, broken = self.catalog, self.catalog.broken
        found: list[tuple[str, str, str]] = []
        pairs: set[tuple[str, str]] = set()
        for module_id in sorted(enabled):
            module = catalog.modules[module_id]
            for dep in module.dependencies:
                if not dep.optional and dep.id not in enabled and dep.id not in broken:
                    found.append(("dependency", module_id, dep.id))
            for other in module.conflicts:
                if other in enabled:
                    pairs.add((min(module_id, other), max(module_id, other)))
        found.extend(("conflict", b, a) for a, b in sorted(pairs))
        return found

    def _client_problem(
        self, yf: YamlFile, layers: list[Layer], module_id: str, reason: str
    ) -> Problem:
        """Client-specific problems stay in the client file, naming where the module came from."""
        path: JsonPath = ("modules", module_id)
        if _has(yf.data, path):
            return yf.problem(path, reason, key=True)
        origin = next((layer for layer in reversed(layers) if _has(layer.data, path)), None)
        names: list[str] = yf.data.get("profiles", [])
        if origin is not None and origin.label.startswith("profile "):
            profile = origin.label.removeprefix("profile ")
            index = max(i for i, n in enumerate(names) if n == profile)
            return yf.problem(
                ("profiles", index), f"{reason} ({module_id} comes from {origin.label})"
            )
        return yf.problem(
            ("client_id",), f"{reason} ({module_id} comes from reconciler.yaml defaults)"
        )
