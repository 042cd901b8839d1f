"""Saved plans (`plan --out`): a checksummed JSON document holding no sensitive value (SPEC §5).

Sensitive values appear only as sha256 hashes; `apply FILE` recomputes each client's plan from
the desired state and refuses clients whose changes no longer hash the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from reconciler.errors import DamagedPlan
from reconciler.model import JSON, fingerprint
from reconciler.plan.model import Plan

KIND = "reconciler-plan"
PLAN_FILE_FORMAT_VERSION = 1  # of saved plan files; command output has its own (model.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedClient:
    client_id: str
    live_fingerprint: str
    changes_fingerprint: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SavedPlan:
    store: str
    desired_commit: str | None
    desired_root: str
    clients: tuple[SavedClient, ...]
    adopt_only: bool = False


def dump_plan(plan: Plan) -> str:
    """The saved-plan text: the plan's JSON with sensitive values hashed, plus a checksum."""
    body = plan.to_json(hash_sensitive=True)
    body["kind"] = KIND
    body["format_version"] = PLAN_FILE_FORMAT_VERSION
    body["checksum"] = fingerprint(body)
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def load_plan(text: str, *, name: str) -> SavedPlan:
    """Parse and check a saved plan; refuse anything truncated, edited, or from another version."""
    hint = "create a new one with `reconciler plan --out FILE`"
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedPlan(
            f"{name}:{exc.lineno}:{exc.colno}: not a saved plan (invalid JSON: {exc.msg}); "
            "the file may be truncated",
            hint=hint,
        ) from None
    except RecursionError:  # `[[[[...` thousands deep: the decoder gives up
        raise DamagedPlan(f"{name}: not a saved plan (JSON nested too deeply)", hint=hint) from None
    if not isinstance(body, dict) or body.get("kind") != KIND:
        raise DamagedPlan(f"{name}: not a saved plan (kind is not {KIND!r})", hint=hint)
    version = body.get("format_version")
    if version != PLAN_FILE_FORMAT_VERSION:
        newer = isinstance(version, int) and version > PLAN_FILE_FORMAT_VERSION
        raise DamagedPlan(
            f"{name}: saved plan format_version {version!r} is not supported "
            f"(this reconciler reads {PLAN_FILE_FORMAT_VERSION})",
            hint="upgrade module-reconciler" if newer else hint,
        )
    claimed = body.pop("checksum", None)
    if claimed != fingerprint(body):
        raise DamagedPlan(
            f"{name}: saved plan checksum mismatch: it was edited or damaged", hint=hint
        )
    try:
        clients = tuple(
            SavedClient(
                client_id=str(c["client_id"]),
                live_fingerprint=str(c["live_fingerprint"]),
                changes_fingerprint=str(c["changes_fingerprint"]),
            )
            for c in body["clients"]
            if c["writes"]
        )
        return SavedPlan(
            store=str(body["store"]),
            desired_commit=body.get("desired_commit"),
            desired_root=str(body.get("desired_root") or ""),
            clients=clients,
            adopt_only=body.get("adopt_only") is True,
        )
    except KeyError as exc:
        raise DamagedPlan(f"{name}: saved plan is missing {exc}", hint=hint) from None
    except (TypeError, AttributeError):  # e.g. `clients` not a list of objects
        raise DamagedPlan(f"{name}: saved plan is malformed", hint=hint) from None


def plan_json(plan: Plan) -> JSON:
    """The JSON output of `plan --format json` (sensitive values masked, not hashed)."""
    return plan.to_json()
