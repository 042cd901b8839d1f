"""The module catalog: definitions, versions, dependencies, cycles and conflicts (SPEC §3)."""

from __future__ import annotations

import functools
import posixpath
from dataclasses import dataclass, field
from typing import Any

import semantic_version

from reconciler.desired.regexes import risky_patterns
from reconciler.desired.schema import (
    Validator,
    check_file,
    settings_schema_findings,
)
from reconciler.desired.secrets import ref_paths
from reconciler.desired.yamlsafe import YamlFile
from reconciler.errors import Problem
from reconciler.model import Dependency, ModuleDef
from reconciler.plan.mask import schema_sensitive_paths


@functools.cache
def npm_range(text: str) -> semantic_version.NpmSpec | None:
    """An npm-style range (`^1.2`, `~2.0.1`, `>=1 <3`, `1.x || 2.x`), or None if it is not one."""
    try:
        return semantic_version.NpmSpec(text)
    except ValueError:
        return None


@functools.cache
def satisfies(version: str, text: str) -> bool:
    """Whether the exact catalog `version` lies in the npm range `text` (which must be valid)."""
    spec = npm_range(text)
    return spec is not None and spec.match(semantic_version.Version(version))


def stem(relpath: str) -> str:
    """`modules/forms.yaml` -> `forms`."""
    return posixpath.splitext(posixpath.basename(relpath))[0]


@dataclass(slots=True)
class Catalog:
    """Modules that loaded, their files and settings validators, and what was wrong."""

    modules: dict[str, ModuleDef] = field(default_factory=dict)
    files: dict[str, YamlFile] = field(default_factory=dict)
    validators: dict[str, Validator | None] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # ids whose file has problems: no follow-ups
    problems: list[Problem] = field(default_factory=list)


def build_catalog(files: list[YamlFile], broken: set[str]) -> Catalog:
    """Check each module file, then the catalog as a whole."""
    catalog = Catalog(broken=set(broken))
    for yf in files:
        problems = check_file("module", yf)
        module_id = stem(yf.file)
        if not problems and yf.data["id"] != module_id:
            reason = f"id {yf.data['id']!r} does not match the file name; expected {module_id!r}"
            problems.append(yf.problem(("id",), reason))
        if module_id in catalog.files:
            problems.append(
                yf.problem(
                    (), f"module {module_id!r} is also defined in {catalog.files[module_id].file}"
                )
            )
        if problems:
            catalog.problems.extend(problems)
            catalog.broken.add(module_id)
            continue
        catalog.files[module_id] = yf
        catalog.modules[module_id] = _module_def(yf.data)
        catalog.validators[module_id] = _settings_validator(yf, catalog.problems)
    for module_id in sorted(catalog.modules):
        _check_references(catalog, module_id)
    _check_cycles(catalog)
    _check_renames(catalog)
    return catalog


def _module_def(data: dict[str, Any]) -> ModuleDef:
    """A ModuleDef from a schema-valid module file."""
    deps = tuple(
        Dependency(id=d["id"], version=d.get("version", "*"), optional=d.get("optional", False))
        for d in data.get("dependencies", [])
    )
    schema = data.get("settings_schema", {})
    return ModuleDef(
        id=data["id"],
        name=data["name"],
        version=data["version"],
        description=data.get("description", ""),
        capabilities=tuple(data.get("capabilities", [])),
        dependencies=deps,
        conflicts=tuple(data.get("conflicts", [])),
        settings_schema=schema,
        default_settings=data.get("default_settings", {}),
        protected=data.get("protected", False),
        sensitive_paths=schema_sensitive_paths(schema),
        replaces=tuple(data.get("replaces", [])),
    )


def _settings_validator(yf: YamlFile, problems: list[Problem]) -> Validator | None:
    """Compile settings_schema, and check default_settings against it."""
    schema = yf.data.get("settings_schema", {})
    findings = settings_schema_findings(schema) or list(risky_patterns(schema))
    if findings:
        problems.extend(
            yf.problem(("settings_schema", *p), f"invalid settings_schema: {r}", key=k)
            for p, k, r in findings
        )
        return None
    sensitive = schema_sensitive_paths(schema)
    validator = Validator(schema, sensitive=sensitive)
    defaults = yf.data.get("default_settings", {})
    refs = ref_paths(defaults, sensitive)  # a reference stands for a value: checked elsewhere
    for path, key, reason in validator.findings_outside(defaults, refs):
        problems.append(yf.problem(("default_settings", *path), reason, key=key))
    return validator


def _check_references(catalog: Catalog, module_id: str) -> None:
    """Dependencies: known, valid range, satisfied by the catalog; conflicts: known."""
    yf, module = catalog.files[module_id], catalog.modules[module_id]
    for i, dep in enumerate(module.dependencies):
        target = catalog.modules.get(dep.id)
        if npm_range(dep.version) is None:
            reason = f"{dep.version!r} is not a valid version range (npm style, e.g. ^1.2.0)"
            catalog.problems.append(yf.problem(("dependencies", i, "version"), reason))
        elif target is not None and not satisfies(target.version, dep.version):
            reason = f"needs {dep.id} {dep.version}, but the catalog has {dep.id} {target.version}"
            catalog.problems.append(yf.problem(("dependencies", i, "version"), reason))
        if target is None and dep.id not in catalog.broken and not dep.optional:
            reason = f"unknown module {dep.id!r} (no modules/{dep.id}.yaml)"
            catalog.problems.append(yf.problem(("dependencies", i, "id"), reason))
    for i, other in enumerate(module.conflicts):
        if other not in catalog.modules and other not in catalog.broken:
            reason = f"unknown module {other!r} (no modules/{other}.yaml)"
            catalog.problems.append(yf.problem(("conflicts", i), reason))


def _check_cycles(catalog: Catalog) -> None:
    """Report each dependency cycle once, at the first module of the cycle (SPEC §3)."""
    graph = {
        m: [d.id for d in mod.dependencies if d.id in catalog.modules]
        for m, mod in catalog.modules.items()
    }
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: set[tuple[str, ...]] = set()

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                first = cycle.index(min(cycle))
                cycles.add(tuple(cycle[first:] + cycle[:first]))
            elif nxt not in state:
                visit(nxt, path)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    for cycle in sorted(cycles):
        start, nxt = cycle[0], cycle[1 % len(cycle)]
        index = next(i for i, d in enumerate(catalog.modules[start].dependencies) if d.id == nxt)
        shown = " -> ".join((*cycle, start))
        problem = catalog.files[start].problem(
            ("dependencies", index, "id"), f"dependency cycle: {shown}"
        )
        catalog.problems.append(problem)


def _check_renames(catalog: Catalog) -> None:
    """`replaces`: an old id is claimed by one module only, is not itself a module of the
    catalog (which also rules out rename cycles), and is not the module's own id (issue 13)."""
    claimed: dict[str, str] = {}
    for module_id in sorted(catalog.modules):
        yf = catalog.files[module_id]
        for i, old in enumerate(catalog.modules[module_id].replaces):
            where = ("replaces", i)
            if old == module_id:
                reason = f"module {module_id!r} cannot replace itself"
            elif old in catalog.modules or old in catalog.broken:
                back = old in catalog.modules and module_id in catalog.modules[old].replaces
                reason = (
                    f"rename cycle: {module_id} replaces {old}, and {old} replaces {module_id}"
                    if back
                    else f"{old!r} is a module of the catalog (modules/{old}.yaml); only a "
                    "legacy id that no module file defines can be replaced"
                )
            elif old in claimed:
                other = claimed[old]
                reason = (
                    f"legacy id {old!r} is also replaced by {other} "
                    f"({catalog.files[other].file}); an old id maps to one module"
                )
            else:
                claimed[old] = module_id
                continue
            catalog.problems.append(yf.problem(where, reason))
