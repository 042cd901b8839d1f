"""What a plan is: changes per client, sorted once, with a stable JSON form (STYLE §2)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from reconciler.jsontext import plain
from reconciler.model import (
    JSON,
    OUTPUT_FORMAT_VERSION,
    ClientLive,
    ModuleDef,
    Settings,
    fingerprint,
)
from reconciler.plan.violation import Violation

if TYPE_CHECKING:
    from reconciler.plan.changed import ChangedSince

SENSITIVE = "(sensitive)"


class ChangeKind(StrEnum):
    ENABLE = "enable"
    DISABLE = "disable"
    VERSION = "version"
    SETTING = "setting"
    OVERRIDE = "override"
    # The registry learns a module only the legacy list had (the seed's migrateToUnified):
    # path () carries the version, settings paths the settings; no behaviour changes.
    ADOPT = "adopt"
    # The legacy list's old id (`replaces` in the module file) written as the new id in its
    # place: old is the old id, new the new id; the same module stays enabled (issue 13).
    RENAME = "rename"


class Absent:
    """Marks a value that does not exist on one side of a change (a key added or removed)."""

    _instance: Absent | None = None

    def __new__(cls) -> Absent:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = Absent()


@dataclass(frozen=True, slots=True, kw_only=True)
class Change:
    """One difference between live and target for a client."""

    client_id: str
    module: str | None  # None for legacy override columns
    kind: ChangeKind
    path: tuple[str, ...] = ()  # JSON path inside settings, or (override key, ...) for overrides
    old: JSON = None
    new: JSON = None
    stores: frozenset[str] = frozenset()  # "legacy", "registry"
    informational: bool = False  # preserve: shown, never written
    sensitive: bool = False

    def sort_key(self) -> tuple[Any, ...]:
        return (self.informational, self.module is None, self.module or "", self.kind, self.path)

    def to_json(self, *, hash_sensitive: bool = False) -> dict[str, JSON]:
        old, new, stores = self.old, self.new, self.stores
        if self.sensitive:
            shown_old = _shown(old, hash_sensitive)
            shown_new = _shown(new, hash_sensitive)
        else:  # most changes: no masking, no call
            shown_old = None if old is ABSENT else old
            shown_new = None if new is ABSENT else new
        return {
            "module": self.module,
            "kind": str(self.kind),
            "path": list(self.path),
            "op": "add" if old is ABSENT else "remove" if new is ABSENT else "change",
            "old": shown_old,
            "new": shown_new,
            "stores": [*stores] if len(stores) < 2 else sorted(stores),
            "informational": self.informational,
            "sensitive": self.sensitive,
        }


# Each field's slot, set directly: what `Change(...)` does through object.__setattr__ per
# field (the frozen class's way), at half the cost; a 10,000-client adoption diff makes
# 340,000 changes.
_SLOTS = tuple(Change.__dict__[f.name].__set__ for f in fields(Change))


def new_change(
    client_id: str,
    module: str | None,
    kind: ChangeKind,
    path: tuple[str, ...],
    old: JSON,
    new: JSON,
    stores: frozenset[str],
    informational: bool,
    sensitive: bool,
) -> Change:
    """`Change(...)` with every field given, in field order (tests/plan/test_build.py checks
    both give equal changes)."""
    change = object.__new__(Change)
    slot = _SLOTS  # unrolled: a loop over the nine would cost half the gain
    slot[0](change, client_id)
    slot[1](change, module)
    slot[2](change, kind)
    slot[3](change, path)
    slot[4](change, old)
    slot[5](change, new)
    slot[6](change, stores)
    slot[7](change, informational)
    slot[8](change, sensitive)
    return change


def _plain(value: JSON) -> bool:
    """`jsontext.plain` of a change's value (ABSENT is shown as null), fast for scalars."""
    kind = type(value)
    return kind is str or kind is bool or value is None or value is ABSENT or plain(value)


def _shown(value: JSON, hash_sensitive: bool) -> JSON:
    """A sensitive value as shown: masked, or hashed in saved plans and fingerprints."""
    if value is ABSENT:
        return None
    if hash_sensitive:
        return {"sha256": fingerprint(value)}
    return SENSITIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientPlan:
    """The changes for one client, plus what apply needs to check it is still current."""

    client_id: str
    name: str = ""
    file: str = ""
    strategy: str = "merge"
    live_fingerprint: str
    changes: tuple[Change, ...] = ()
    live: ClientLive | None = field(default=None, compare=False)
    target: ClientLive | None = field(default=None, compare=False)

    @classmethod
    def build(cls, changes: Iterable[Change], **kwargs: Any) -> ClientPlan:
        return cls(changes=tuple(sorted(changes, key=Change.sort_key)), **kwargs)

    @property
    def writes(self) -> bool:
        """True when applying this plan writes something (informational changes never do)."""
        return any(not c.informational for c in self.changes)

    def changes_fingerprint(self) -> str:
        """Hash of the changes with sensitive values hashed; a saved plan is checked against it."""
        hashed = [c.to_json(hash_sensitive=True) for c in self.changes]
        return self._hash_changes(hashed, self.plain_json())

    def _hash_changes(self, hashed: list[JSON], plain: bool) -> str:
        """The fingerprint of `hashed`, the changes' JSON with sensitive values hashed;
        `plain`: it is plain JSON (a client plan read back from a shard keeps the one the
        shard computed)."""
        return fingerprint(hashed, checked=plain)

    def plain_json(self) -> bool:
        """True when every value the changes carry is plain JSON (`jsontext.plain`: no float,
        no huge int ...), so their JSON needs no walk before the fast encoder. Only `old` and
        `new` are free JSON; every other field is typed (str, bool, tuple of str), and a
        sensitive value is shown as a string or a `{"sha256": ...}` whatever it is."""
        for change in self.changes:
            if not (change.sensitive or (_plain(change.old) and _plain(change.new))):
                return False
        return True

    def to_json(self, *, hash_sensitive: bool = False) -> dict[str, JSON]:
        return self.json_document(hash_sensitive=hash_sensitive)[0]

    def json_document(self, *, hash_sensitive: bool = False) -> tuple[dict[str, JSON], bool]:
        """`to_json()` and whether it is plain JSON (`plain_json()`), each change's JSON built
        once: without sensitive values its hashed form (the fingerprint's) is the same."""
        changes = [c.to_json(hash_sensitive=hash_sensitive) for c in self.changes]
        plain = self.plain_json()
        hashed = changes
        if not hash_sensitive and any(c.sensitive for c in self.changes):
            hashed = [
                c.to_json(hash_sensitive=True) if c.sensitive else shown
                for c, shown in zip(self.changes, changes, strict=True)
            ]
        data: dict[str, JSON] = {
            "client_id": self.client_id,
            "name": self.name,
            "file": self.file,
            "strategy": self.strategy,
            "writes": self.writes,
            "live_fingerprint": self.live_fingerprint,
            "changes_fingerprint": self._hash_changes(hashed, plain),
            "changes": changes,
        }
        return data, plain


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    clients_changed: int = 0
    clients_unchanged: int = 0
    enabled: int = 0
    disabled: int = 0
    updated: int = 0  # modules whose version or settings change
    overrides: int = 0  # override paths changed
    informational: int = 0
    adopted: int = 0  # modules the registry adopts from the legacy list
    renamed: int = 0  # legacy list entries written under the id of the module replacing them

    def to_json(self) -> dict[str, int]:
        return {
            "clients_changed": self.clients_changed,
            "clients_unchanged": self.clients_unchanged,
            "modules_enabled": self.enabled,
            "modules_disabled": self.disabled,
            "modules_updated": self.updated,
            "overrides_changed": self.overrides,
            "informational": self.informational,
            "modules_adopted": self.adopted,
            "modules_renamed": self.renamed,
        }


def summarize(plans: Iterable[ClientPlan], unchanged: int) -> Summary:
    """Count what a list of client plans does; informational changes are counted apart."""
    changed = enabled = disabled = informational = overrides = renamed = 0
    updated: set[tuple[str, str]] = set()
    adopted: set[tuple[str, str]] = set()
    enable, disable, override = ChangeKind.ENABLE, ChangeKind.DISABLE, ChangeKind.OVERRIDE
    adopt, rename = ChangeKind.ADOPT, ChangeKind.RENAME
    for plan in plans:
        writes = False  # plan.writes, in the same pass
        for change in plan.changes:
            if change.informational:
                informational += 1
                continue
            writes = True
            kind = change.kind
            if kind is adopt:
                adopted.add((plan.client_id, change.module or ""))
            elif kind is enable:
                enabled += 1
            elif kind is disable:
                disabled += 1
            elif kind is override:
                overrides += 1
            elif kind is rename:
                renamed += 1
            else:
                updated.add((plan.client_id, change.module or ""))
        changed += writes
    return Summary(
        clients_changed=changed,
        clients_unchanged=unchanged,
        enabled=enabled,
        disabled=disabled,
        updated=len(updated),
        overrides=overrides,
        informational=informational,
        adopted=len(adopted),
        renamed=renamed,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A whole run's plan: client plans (only those with changes) sorted by client id."""

    clients: tuple[ClientPlan, ...]
    unchanged: int = 0
    store: str = ""  # display URL, never a password
    desired_commit: str | None = None
    desired_root: str = ""
    # What apply needs for safety checks; not part of the plan's JSON.
    settings: Settings | None = field(default=None, compare=False)
    catalog: Mapping[str, ModuleDef] = field(default_factory=dict, compare=False)
    # `plan --changed-since`: what was compared and which clients were deleted (issue 6).
    changed_since: ChangedSince | None = None
    # Policy rules the planned changes break (policies/*.yaml, issue 16), sorted.
    violations: tuple[Violation, ...] = ()
    adopt_only: bool = False  # `--adopt-only`: only adoption into the registry (issue 13)
    # reconciler.yaml as shown (relative to the cwd, issue 16), where safety problems point.
    settings_file: str = field(default="reconciler.yaml", compare=False)

    @property
    def denied(self) -> bool:
        """True when a `deny` policy forbids the run (apply refuses it without --force)."""
        return any(v.effect == "deny" for v in self.violations)

    @property
    def summary(self) -> Summary:
        return summarize(self.clients, self.unchanged)

    @property
    def has_changes(self) -> bool:
        """True when applying would write (informational changes are never applied)."""
        return any(c.writes for c in self.clients)

    def to_json_header(self) -> dict[str, JSON]:
        """Every key of `to_json()` but "clients"."""
        data: dict[str, JSON] = {
            "format_version": OUTPUT_FORMAT_VERSION,
            "kind": "plan",
            "store": self.store,
            "desired_commit": self.desired_commit,
            "desired_root": self.desired_root,
            "summary": self.summary.to_json(),
        }
        if self.adopt_only:  # the key exists exactly for --adopt-only plans
            data["adopt_only"] = True
        if self.violations:  # the key exists exactly when a policy is broken
            data["policy_violations"] = [v.to_json() for v in self.violations]
        if self.changed_since is not None:  # the key exists exactly for --changed-since plans
            data["changed_since"] = self.changed_since.to_json()
        return data

    def to_json(self, *, hash_sensitive: bool = False) -> dict[str, JSON]:
        data = self.to_json_header()
        data["clients"] = [c.to_json(hash_sensitive=hash_sensitive) for c in self.clients]
        return data
