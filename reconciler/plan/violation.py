"""A policy rule that a planned change breaks (policies/*.yaml, issue 16): the result type the
policy evaluator produces and every plan format lays out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.errors import Location
from reconciler.model import JSON

Effect = Literal["deny", "warn"]
_NOWHERE = Location("")


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Violation:
    """One rule broken by one client's planned change (or by the client as a whole)."""

    client_id: str
    client_name: str = ""
    policy: str  # the rule's id, e.g. "no-billing-disable-on-enterprise"
    effect: Effect
    message: str
    module: str | None = None  # the module of the change, when there is one
    change: str = ""  # the change as the plan shows it, e.g. "- billing disable"
    location: Location = _NOWHERE  # where the rule is written (policies/x.yaml:3:5)

    def to_json(self) -> dict[str, JSON]:
        return {
            "client_id": self.client_id,
            "client_name": self.client_name,
            "policy": self.policy,
            "effect": self.effect,
            "message": self.message,
            "module": self.module,
            "change": self.change,
            "file": self.location.file,
            "line": self.location.line,
            "column": self.location.column,
        }
