"""`explain`'s result (issue 16): where each resolved value of a client comes from; re-exported
by results.py with every other result type."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import Location
from reconciler.model import JSON, OUTPUT_FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class Origin:
    """One layer that sets a value: "profile growth" at profiles/growth.yaml:9:7, and what."""

    layer: str  # reconciler.yaml defaults | profile NAME | client file | module default_settings
    location: Location
    value: JSON

    def to_json(self) -> dict[str, JSON]:
        where = self.location
        return {
            "layer": self.layer,
            "file": where.file,
            "line": where.line,
            "column": where.column,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """A resolved value, the layer that set it, and the layers it overrode (lowest first)."""

    path: str  # modules.forms.settings.max_fields, strategy, overrides.theme.primary_color
    value: JSON
    set_by: Origin
    overrode: tuple[Origin, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "path": self.path,
            "value": self.value,
            "set_by": self.set_by.to_json(),
            "overrode": [o.to_json() for o in self.overrode],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class ExplainReport:
    """`reconciler explain CLIENT [MODULE[.settings.PATH]]`."""

    client_id: str
    name: str
    file: str
    profiles: tuple[str, ...]
    selector: str = ""  # the MODULE[.settings.PATH] asked for, "" for everything
    values: tuple[Provenance, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "format_version": OUTPUT_FORMAT_VERSION,
            "kind": "explain",
            "client_id": self.client_id,
            "name": self.name,
            "file": self.file,
            "profiles": list(self.profiles),
            "selector": self.selector,
            "values": [v.to_json() for v in self.values],
        }
