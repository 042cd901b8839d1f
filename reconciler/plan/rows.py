"""Rows built once from a plan (symbol, subject, detail, stores): text, markdown, the web and
import comments only arrange them (STYLE §3)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.jsontext import spaced
from reconciler.model import JSON
from reconciler.plan.model import ABSENT, SENSITIVE, Change, ChangeKind, ClientPlan

SYMBOLS = {"add": "+", "remove": "-", "change": "~"}


@dataclass(frozen=True, slots=True)
class Row:
    symbol: str  # + - ~ or i (informational)
    subject: str  # module, module setting path, or overrides.path
    detail: str  # enable / disable / old -> new
    stores: str
    informational: bool


def show(value: JSON, sensitive: bool = False) -> str:
    """One value for humans: JSON text, `(sensitive)` when masked, `(absent)` when missing."""
    if value is ABSENT:
        return "(absent)"
    if sensitive:
        return SENSITIVE
    return spaced(value)


_ADOPT, _RENAME, _ENABLE, _DISABLE = (
    ChangeKind.ADOPT,
    ChangeKind.RENAME,
    ChangeKind.ENABLE,
    ChangeKind.DISABLE,
)


def change_row(change: Change) -> Row:
    stores = ", ".join(change.stores if len(change.stores) < 2 else sorted(change.stores))
    kind = change.kind
    if kind is _ADOPT:
        symbol = "="
        if change.path:
            subject = f"{change.module} settings." + ".".join(change.path)
            detail = show(change.new, change.sensitive)
        else:
            subject = change.module or ""
            version = "" if change.new is None else f" at version {show(change.new)}"
            detail = f"adopt into the registry{version}"
    elif kind is _RENAME:
        symbol, subject, detail = "~", f"{change.old} -> {change.new}", "rename"
    elif kind is _ENABLE or kind is _DISABLE:
        symbol = "+" if kind is _ENABLE else "-"
        subject, detail = change.module or "", str(kind)
    else:
        op = "add" if change.old is ABSENT else "remove" if change.new is ABSENT else "change"
        symbol = SYMBOLS[op]
        if kind is ChangeKind.VERSION:
            subject = f"{change.module} version"
        elif kind is ChangeKind.SETTING:
            subject = f"{change.module} settings." + ".".join(change.path)
        else:
            subject = "overrides." + ".".join(change.path)
        if op == "add":
            detail = show(change.new, change.sensitive)
        elif op == "remove":
            detail = f"{show(change.old, change.sensitive)} (removed)"
        else:
            detail = f"{show(change.old, change.sensitive)} -> {show(change.new, change.sensitive)}"
    if change.informational:
        symbol, detail = "i", f"{detail} (preserve: not applied)"
    return Row(symbol, subject, detail, stores, change.informational)


def client_title(plan: ClientPlan) -> str:
    return f"{plan.name or plan.client_id}"


def client_rows(plan: ClientPlan) -> list[Row]:
    return [change_row(c) for c in plan.changes]
