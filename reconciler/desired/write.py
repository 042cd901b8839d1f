"""Client files written by `import`: the document, its YAML text, and safe writing (SPEC §6).

The document is built from the unified live view of one client and a handling per module,
decided by the importer so that planning right after shows nothing to write:

- `listed`: written explicitly (enabled, the exact live version, the live settings);
- `preserve`: written with `strategy: preserve`, so the reconciler never touches it (the live
  state cannot be expressed, but a default or a dependency needs it mentioned);
- `omit`: left out; the client's `merge` strategy keeps it exactly as it is;
- `preserve-off`: like `preserve`, written `enabled: false`: for a module the two stores
  disagree on, when the enabled side would break a dependency rule of the catalog.

The module sources (legacy / registry / unified) go into comments at the top of the file.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from reconciler.desired.source import Source
from reconciler.errors import ReconcilerError
from reconciler.files import write_atomic
from reconciler.model import JSON, OVERRIDE_COLUMNS, LegacyRow, StrategyName, UnifiedModule

Handling = Literal["listed", "preserve", "preserve-off", "omit"]
MODELINE = "# yaml-language-server: $schema=../../schemas/client.schema.json\n"


def live_overrides(legacy: LegacyRow | None) -> dict[str, JSON]:
    """Client-file `overrides` from the legacy row: every column holding a non-empty object."""
    if legacy is None:
        return {}
    found = {}
    for key, column in OVERRIDE_COLUMNS.items():
        value = getattr(legacy, column)
        if isinstance(value, dict) and value:
            found[key] = value
    return found


def client_document(
    client_id: str,
    *,
    name: str,
    modules: Sequence[UnifiedModule],
    handling: Mapping[str, Handling],
    catalog_versions: Mapping[str, str],
    disable: Collection[str],
    overrides: Mapping[str, JSON],
    strategy: StrategyName = "merge",
    module_strategy: StrategyName | None = None,
    bad_settings: Collection[str] = (),
) -> dict[str, JSON]:
    """The client file's data. `disable` lists modules a default enables that live lacks;
    `module_strategy` is written on every listed module (when the client is preserved only
    for its overrides)."""
    doc: dict[str, JSON] = {"client_id": client_id}
    if name:
        doc["name"] = name
    doc["strategy"] = strategy
    entries: dict[str, JSON] = {}
    for module in modules:
        how = handling.get(module.id, "omit")
        if how == "omit":
            continue
        entry: dict[str, JSON] = {"enabled": module.enabled and how != "preserve-off"}
        if how == "listed" and module.version == catalog_versions.get(module.id):
            entry["version"] = module.version  # an exact version: the range the live state pins
        if module.settings and module.id not in bad_settings:
            entry["settings"] = dict(module.settings)
        if how in ("preserve", "preserve-off"):
            entry["strategy"] = "preserve"
        elif module_strategy is not None:
            entry["strategy"] = module_strategy
        entries[module.id] = entry
    for module_id in sorted(disable):
        entries[module_id] = {"enabled": False}
    doc["modules"] = dict(sorted(entries.items()))
    if overrides:
        doc["overrides"] = dict(overrides)
    return doc


class _PlainDumper(yaml.SafeDumper):  # type: ignore[misc,unused-ignore]
    """Plain data only: never anchors or aliases, even for repeated objects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def client_yaml(doc: Mapping[str, JSON], comments: Sequence[str] = ()) -> str:
    """The file text: the schema modeline, comment lines, then the document."""
    body: str = yaml.dump(
        dict(doc),
        Dumper=_PlainDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    head = "".join(f"# {line}\n" if line else "#\n" for line in comments)
    return MODELINE + head + body


def write_client_file(path: Path, text: str, *, force: bool) -> bool:
    """Write `text` to `path` atomically, mode 0666 & ~umask (reconciler/files.py); False
    (nothing written) when any entry of that name exists, a dangling symlink included, and
    `force` is not set. With `force` a symlink is replaced by the file, never written through."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(path, text.encode("utf-8"), overwrite=force)
    except OSError as exc:
        raise ReconcilerError(f"cannot write {path}: {exc.strerror or exc}") from exc


class Overlay:
    """A source with some files replaced or added in memory, to validate files before writing."""

    def __init__(self, base: Source, files: Mapping[str, bytes]) -> None:
        self.root = base.root
        self._base = base
        self._files = dict(files)

    @property
    def commit(self) -> str | None:
        return self._base.commit

    def list_files(self, subdir: str) -> list[str]:
        top = subdir.rstrip("/") + "/"
        extra = {p for p in self._files if p.startswith(top)}
        return sorted(set(self._base.list_files(subdir)) | extra)

    def read_bytes(self, relpath: str) -> bytes:
        if relpath in self._files:
            return self._files[relpath]
        return self._base.read_bytes(relpath)

    def exists(self, relpath: str) -> bool:
        if relpath in self._files:
            return True
        exists = getattr(self._base, "exists", None)
        return bool(exists(relpath)) if exists is not None else True
