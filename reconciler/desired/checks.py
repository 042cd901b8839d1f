"""Checks across files: settings, profiles, unknown ids, duplicate client_id (SPEC §3).

Every check returns Problems; only `load.load_desired` raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from reconciler.desired.catalog import Catalog, stem
from reconciler.desired.confusable import differences, lookalikes
from reconciler.desired.resolve import Layer
from reconciler.desired.rollout import build_waves
from reconciler.desired.schema import check_file, file_validator
from reconciler.desired.yamlsafe import JsonPath, YamlFile
from reconciler.errors import Problem
from reconciler.model import ORIGINAL_LEGACY_DEFAULTS, Safety, Settings


def build_settings(yf: YamlFile | None) -> tuple[Settings, Layer | None, list[Problem]]:
    """reconciler.yaml as Settings plus its `defaults` layer; defaults stand in for bad parts."""
    if yf is None:
        return Settings(), None, []
    findings = file_validator("settings").findings(yf.data)
    problems = [yf.problem(path, reason, key=key) for path, key, reason in findings]
    # Keep the valid top-level keys, so one typo does not hide the defaults from every client.
    bad = {path[0] for path, _, _ in findings if path}
    if any(not path for path, _, _ in findings):
        return Settings(), None, problems
    data = {k: v for k, v in yf.data.items() if k not in bad}
    safety = data.get("safety", {})
    defaults = data.get("defaults", {})
    waves, found = build_waves(yf, data["rollout"]) if "rollout" in data else ((), [])
    problems.extend(found)
    settings = Settings(
        legacy_defaults=tuple(data.get("legacy", {}).get("defaults", ORIGINAL_LEGACY_DEFAULTS)),
        default_strategy=data.get("strategy", "merge"),
        safety=Safety(
            max_disable_share=float(safety.get("max_disable_share", 0.5)),
            max_clients_changed=safety.get("max_clients_changed"),
        ),
        max_file_bytes=int(data.get("limits", {}).get("max_file_bytes", 1024 * 1024)),
        defaults=defaults,
        plaintext_secrets=data.get("secrets", {}).get("plaintext", "warn"),
        rollout=waves,
    )
    layer = Layer(yf, ("defaults",), defaults, "reconciler.yaml defaults") if defaults else None
    return settings, layer, problems


def check_settings_ids(yf: YamlFile | None, catalog: Catalog) -> list[Problem]:
    """Module ids in legacy.defaults must exist in the catalog."""
    if yf is None or not isinstance(yf.data.get("legacy"), dict):
        return []
    problems = []
    defaults = yf.data["legacy"].get("defaults", [])
    if not isinstance(defaults, list):  # the schema reports it; a string is not a list of ids
        return []
    for i, module_id in enumerate(defaults):
        if not isinstance(module_id, str):  # likewise reported by the schema
            continue
        if module_id not in catalog.modules and module_id not in catalog.broken:
            reason = f"unknown module {module_id!r} (no modules/{module_id}.yaml)"
            problems.append(yf.problem(("legacy", "defaults", i), reason))
    return problems


def build_profile(yf: YamlFile) -> tuple[Layer | None, list[Problem]]:
    """A profile layer; its name must match its file name."""
    problems = check_file("profile", yf)
    if problems:
        return None, problems
    name = stem(yf.file)
    if yf.data["name"] != name:
        reason = f"name {yf.data['name']!r} does not match the file name; expected {name!r}"
        return None, [yf.problem(("name",), reason)]
    return Layer(yf, (), yf.data, f"profile {name}"), []


def check_layer_modules(layer: Layer, catalog: Catalog) -> list[Problem]:
    """Unknown module ids in a shared layer (settings defaults or a profile)."""
    problems = []
    for module_id in layer.data.get("modules", {}):
        if module_id not in catalog.modules and module_id not in catalog.broken:
            reason = f"unknown module {module_id!r} (no modules/{module_id}.yaml)"
            path: JsonPath = (*layer.base, "modules", module_id)
            problems.append(layer.yf.problem(path, reason, key=True))
    return problems


def duplicate_client_ids(owners: Mapping[str, list[YamlFile]]) -> list[Problem]:
    """A client_id in two files: a problem at each, naming the other (SPEC §3)."""
    problems = []
    for client_id, files in owners.items():
        if len(files) < 2:
            continue
        for yf in files:
            others = ", ".join(str(o.locate(("client_id",))) for o in files if o is not yf)
            reason = f"client_id {client_id!r} is also used in {others}"
            problems.append(yf.problem(("client_id",), reason))
    return problems


def lookalike_clients(
    ids: Mapping[str, list[str]],
    names: Mapping[str, list[str]],
    reread: Callable[[str], YamlFile | None],
) -> list[Problem]:
    """A client_id or name that differs from another client's only by confusable characters
    (a Cyrillic `е` for `e`): a problem at each file using the lookalike, naming the other."""
    problems = []
    for field, claims in (("client_id", ids), ("name", names)):
        if all(value.isascii() for value in claims):  # the usual case: nothing to compare
            continue
        for value, imitated in sorted(lookalikes(list(claims)).items()):
            files = [yf for f in claims[value] if (yf := reread(f)) is not None]
            originals = [yf for f in claims[imitated] if (yf := reread(f)) is not None]
            where = ", ".join(str(o.locate((field,))) for o in originals)
            reason = (
                f"{field} {value!r} looks like {field} {imitated!r} of {where}: they differ only "
                f"by confusable characters ({differences(value, imitated)})"
            )
            problems += [yf.problem((field,), reason) for yf in files]
    return problems
