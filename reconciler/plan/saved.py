"""Saved plans (`plan --out`): a checksummed JSON document holding no sensitive value (SPEC §5).

Sensitive values appear only as sha256 hashes. The file is bound to the desired state it was
made from (issue 13): its commit, or, when the tree had uncommitted changes, a fingerprint of
the files. `apply FILE` reads the desired state at that commit, recomputes each client's
changes and refuses clients whose changes no longer hash the same; what a reviewer reads in
`changes` is what is applied (each client's listed changes must hash to its
`changes_fingerprint`). The checksum detects corruption only: anyone can recompute it. With a
key (RECONCILER_PLAN_KEY), the file carries an HMAC-SHA256 signature that only holders of the
key can make, and unsigned or wrongly signed files are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from reconciler.errors import DamagedPlan
from reconciler.jsontext import indented
from reconciler.model import JSON, canonical_json, fingerprint
from reconciler.plan.model import Plan

KIND = "reconciler-plan"
PLAN_FILE_FORMAT_VERSION = 1  # of saved plan files; command output has its own (model.py)
_HINT = "create a new one with `reconciler plan --out FILE`"


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
    # The tree had uncommitted changes: the fingerprint of its files when the plan was made.
    uncommitted: str | None = None


def dump_plan(plan: Plan, *, uncommitted: str | None = None, key: bytes | None = None) -> str:
    """The saved-plan text: the plan's JSON with sensitive values hashed, whether (and how)
    the tree differed from its commit, a checksum, and with `key` an HMAC signature."""
    body = plan.to_json(hash_sensitive=True)
    body["kind"] = KIND
    body["format_version"] = PLAN_FILE_FORMAT_VERSION
    body["uncommitted"] = uncommitted
    if key is not None:
        body["signature"] = _sign(body, key)
    body["checksum"] = fingerprint(body)
    return indented(body) + "\n"


def _sign(body: dict[str, JSON], key: bytes) -> str:
    unsigned = {k: v for k, v in body.items() if k not in ("signature", "checksum")}
    mac = hmac.new(key, canonical_json(unsigned).encode(), hashlib.sha256)
    return "hmac-sha256:" + mac.hexdigest()


def load_plan(text: str, *, name: str, key: bytes | None = None) -> SavedPlan:
    """Parse and check a saved plan; refuse anything truncated, edited, of another version,
    unsigned or wrongly signed when `key` is given, or whose listed changes do not hash to
    what the file says each client's changes are."""
    body = _parse(text, name)
    claimed = body.pop("checksum", None)
    if claimed != fingerprint(body):
        raise DamagedPlan(
            f"{name}: saved plan checksum mismatch: it was edited or damaged", hint=_HINT
        )
    if key is not None:
        signature = body.get("signature")
        if not isinstance(signature, str):
            raise DamagedPlan(
                f"{name}: saved plan is not signed, and RECONCILER_PLAN_KEY is set",
                hint="plan again with the same RECONCILER_PLAN_KEY to sign it",
            )
        if not hmac.compare_digest(signature, _sign(body, key)):
            raise DamagedPlan(
                f"{name}: saved plan signature does not match RECONCILER_PLAN_KEY: it was "
                "edited, or signed with another key",
                hint=_HINT,
            )
    try:
        clients = tuple(_client(c, name) for c in body["clients"] if c["writes"])
        return SavedPlan(
            store=str(body["store"]),
            desired_commit=body.get("desired_commit"),
            desired_root=str(body.get("desired_root") or ""),
            clients=clients,
            adopt_only=body.get("adopt_only") is True,
            uncommitted=body.get("uncommitted"),
        )
    except KeyError as exc:
        raise DamagedPlan(f"{name}: saved plan is missing {exc}", hint=_HINT) from None
    except (TypeError, AttributeError):  # e.g. `clients` not a list of objects
        raise DamagedPlan(f"{name}: saved plan is malformed", hint=_HINT) from None


def _parse(text: str, name: str) -> dict[str, JSON]:
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedPlan(
            f"{name}:{exc.lineno}:{exc.colno}: not a saved plan (invalid JSON: {exc.msg}); "
            "the file may be truncated",
            hint=_HINT,
        ) from None
    except RecursionError:  # `[[[[...` thousands deep: the decoder gives up
        raise DamagedPlan(
            f"{name}: not a saved plan (JSON nested too deeply)", hint=_HINT
        ) from None
    if not isinstance(body, dict) or body.get("kind") != KIND:
        raise DamagedPlan(f"{name}: not a saved plan (kind is not {KIND!r})", hint=_HINT)
    version = body.get("format_version")
    if version != PLAN_FILE_FORMAT_VERSION:
        newer = isinstance(version, int) and version > PLAN_FILE_FORMAT_VERSION
        raise DamagedPlan(
            f"{name}: saved plan format_version {version!r} is not supported "
            f"(this reconciler reads {PLAN_FILE_FORMAT_VERSION})",
            hint="upgrade module-reconciler" if newer else _HINT,
        )
    return body


def _client(entry: dict[str, JSON], name: str) -> SavedClient:
    """One client entry, whose listed changes must be the ones its fingerprint binds."""
    client_id = str(entry["client_id"])
    if fingerprint(entry["changes"]) != entry["changes_fingerprint"]:
        raise DamagedPlan(
            f"{name}: client {client_id}: the listed changes do not match the plan's "
            "changes_fingerprint: the file was edited; nothing was applied",
            hint=_HINT,
        )
    return SavedClient(
        client_id=client_id,
        live_fingerprint=str(entry["live_fingerprint"]),
        changes_fingerprint=str(entry["changes_fingerprint"]),
    )
