"""`plan --changed-since REV`: which clients a diff touches, judged by resolved state (SPEC §6).

Pure functions over changed paths and resolved clients; git and YAML stay in the callers.
A client is planned when its resolved desired state differs between REV and now (STYLE §7:
compare resolved clients, not paths). Which clients can differ follows from what changed:

- a client file: that client (and whatever client_id it held at REV);
- a profile: the clients listing it;
- a module definition: the clients whose resolved modules include it;
- reconciler.yaml: every client when its defaults, default strategy or legacy defaults
  changed (safety thresholds and limits change no client's state).

A client whose file is gone is not planned: it no longer has a desired state, so the reconciler
leaves its live state as it is and says so (`DeletedClient`), never dropping it silently.
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from reconciler.model import JSON, ClientDesired, Settings, fingerprint

SETTINGS_FILE = "reconciler.yaml"
_YAML = (".yaml", ".yml")


@dataclass(frozen=True, slots=True, kw_only=True)
class PathChanges:
    """Changed paths of a desired-state tree, by the kind of file."""

    settings: bool = False
    modules: frozenset[str] = frozenset()  # module ids (file stems)
    profiles: frozenset[str] = frozenset()  # profile names (file stems)
    client_files: frozenset[str] = frozenset()  # paths relative to the desired-state root

    @property
    def fans_out(self) -> bool:
        """True when shared files changed, so clients whose files did not change may differ."""
        return self.settings or bool(self.modules) or bool(self.profiles)


def _stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def classify_paths(paths: Iterable[str]) -> PathChanges:
    """Sort changed paths (relative to the desired-state root) into settings, modules,
    profiles and client files; other files (README, schemas, hidden directories) are ignored."""
    settings = False
    modules: set[str] = set()
    profiles: set[str] = set()
    clients: set[str] = set()
    for path in paths:
        if path == SETTINGS_FILE:
            settings = True
            continue
        top, _, rest = path.partition("/")
        if not rest or not path.endswith(_YAML):
            continue
        if any(part.startswith(".") for part in rest.split("/")[:-1]):
            continue  # the loaders skip hidden directories too
        if top == "modules":
            modules.add(_stem(path))
        elif top == "profiles":
            profiles.add(_stem(path))
        elif top == "clients":
            clients.add(path)
    return PathChanges(
        settings=settings,
        modules=frozenset(modules),
        profiles=frozenset(profiles),
        client_files=frozenset(clients),
    )


def settings_affect_clients(base: Settings | None, head: Settings) -> bool:
    """Whether a reconciler.yaml change can change what any client's desired state means."""
    if base is None:
        return True
    return (
        base.defaults != head.defaults
        or base.default_strategy != head.default_strategy
        or base.legacy_defaults != head.legacy_defaults
    )


def candidates(
    changes: PathChanges,
    head: Mapping[str, ClientDesired],
    *,
    settings_changed: bool,
) -> set[str]:
    """Client ids of `head` whose resolved state may differ from REV (a superset, then compared)."""
    if settings_changed:
        return set(head)
    found: set[str] = set()
    for client_id, client in head.items():
        if (
            client.file in changes.client_files
            or not changes.profiles.isdisjoint(client.profiles)
            or not changes.modules.isdisjoint(client.modules)
        ):
            found.add(client_id)
    return found


def _resolved(client: ClientDesired) -> str:
    """The fingerprint of what the client resolves to; moving its file changes nothing."""
    data = client.to_json()
    del data["file"]
    return fingerprint(data)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedClient:
    """A client whose file existed at REV and is gone now: reported, never planned."""

    client_id: str
    name: str = ""
    file: str = ""  # its file at REV
    strategy: str = "merge"  # its strategy at REV

    def to_json(self) -> dict[str, JSON]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "file": self.file,
            "strategy": self.strategy,
            "action": "not planned; live state left as is",
        }

    def message(self, where: str) -> str:
        label = self.name or self.client_id
        return (
            f"client {label} ({self.client_id}, {self.file}) deleted in {where}: not planned; "
            "its live state is left as is"
        )


def compare(
    base: Mapping[str, ClientDesired] | None,
    head: Mapping[str, ClientDesired],
    compared: Collection[str],
    *,
    force_all: bool = False,
) -> tuple[list[str], list[DeletedClient]]:
    """Ids among `compared` whose resolved state differs (all of them with `force_all`, or when
    REV could not be loaded: `base` None), and the clients of `base` missing from `head`."""
    if base is None or force_all:
        return sorted(compared), []
    changed = sorted(
        cid for cid in compared if cid not in base or _resolved(base[cid]) != _resolved(head[cid])
    )
    deleted = [
        DeletedClient(client_id=cid, name=c.name, file=c.file, strategy=c.strategy)
        for cid, c in sorted(base.items())
        if cid not in head
    ]
    return changed, deleted


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangedSince:
    """What `--changed-since` compared, for every output format."""

    rev: str  # as given, e.g. origin/main
    commit: str  # its sha
    head: str  # "working tree" or the --ref given
    paths: tuple[str, ...] = ()  # changed paths under the desired-state root
    compared: int = 0  # clients whose resolved state was compared
    changed: tuple[str, ...] = ()  # client ids whose resolved state differs (planned)
    deleted: tuple[DeletedClient, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, JSON]:
        return {
            "rev": self.rev,
            "commit": self.commit,
            "head": self.head,
            "paths": list(self.paths),
            "clients_compared": self.compared,
            "clients_changed": list(self.changed),
            "deleted": [d.to_json() for d in self.deleted],
            "warnings": list(self.warnings),
        }

    def lines(self) -> list[str]:
        """Human-readable lines: what was compared, then one line per deleted client."""
        head = f"{self.rev} ({self.commit[:12]}) -> {self.head}"
        out = [
            f"Changed since {head}: {_count(len(self.paths), 'changed file')}; "
            f"{_count(self.compared, 'client')} compared, "
            f"{len(self.changed)} with a changed desired state"
        ]
        out += [d.message(self.head) for d in self.deleted]
        out += [f"warning: {w}" for w in self.warnings]
        return out


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
