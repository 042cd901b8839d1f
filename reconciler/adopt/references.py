"""`import` writes sensitive live values as environment references, never as values (issue 18)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from reconciler.desired.secrets import set_at, values_at
from reconciler.model import JSON, ModuleDef

PREFIX = "RECONCILER_SECRET"


def variable_name(client_id: str, module: str, path: str) -> str:
    """RECONCILER_SECRET_<CLIENT>_<MODULE>_<PATH>: uppercased, anything else than letters and
    digits turned into `_`."""
    raw = f"{PREFIX}_{client_id}_{module}_{path}"
    return re.sub(r"[^A-Za-z0-9]+", "_", raw).strip("_").upper()


def with_references(
    doc: dict[str, JSON], client_id: str, catalog: Mapping[str, ModuleDef]
) -> dict[str, tuple[str, str, str]]:
    """Replace, in a client document, every sensitive string value by `{secret: {env: NAME}}`;
    returns NAME -> (module, dotted setting path, the live value) for the check and the report
    (the value goes nowhere else)."""
    found: dict[str, tuple[str, str, str]] = {}
    modules = doc.get("modules")
    if not isinstance(modules, dict):
        return found
    for module_id, entry in modules.items():
        definition = catalog.get(module_id)
        if definition is None or not isinstance(entry, dict):
            continue
        settings = entry.get("settings")
        if not isinstance(settings, dict):
            continue
        for secret in sorted(definition.sensitive_paths):
            for path, value in values_at(settings, secret):
                if not isinstance(value, str):
                    continue  # an env value is a string; validate flags it as clear text
                dotted = ".".join(str(p) for p in path)
                name = variable_name(client_id, module_id, dotted)
                found[name] = (module_id, dotted, value)
                settings = set_at(settings, path, {"secret": {"env": name}})
        entry["settings"] = settings
    return found
