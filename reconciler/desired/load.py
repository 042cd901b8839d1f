"""Load a desired-state tree: parse, check and resolve everything, raise once with all problems."""

from __future__ import annotations

import gc
import os
from collections.abc import Collection, Mapping
from typing import Any

from reconciler.desired.catalog import build_catalog, stem
from reconciler.desired.checks import (
    build_profile,
    build_settings,
    check_layer_modules,
    check_settings_ids,
    duplicate_client_ids,
)
from reconciler.desired.resolve import Layer, Resolver
from reconciler.desired.schema import check_file
from reconciler.desired.source import Source, WorkingTree
from reconciler.desired.yamlsafe import YamlFile, parse, too_big
from reconciler.errors import Problem, ReconcilerError, ValidationFailed
from reconciler.model import ClientDesired, DesiredState

SETTINGS_FILE = "reconciler.yaml"
DEFAULT_MAX_FILE_BYTES = 1024 * 1024


class _Reader:
    """Reads and parses files, refusing oversized ones before reading them."""

    def __init__(self, source: Source, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        self._size = getattr(source, "size", None)

    def read(self, relpath: str, limit: int) -> YamlFile | None:
        if self._size is not None:
            size = self._size(relpath)
            if size > limit:
                self.problems.append(too_big(relpath, size, limit))
                return None
        yf, problems = parse(relpath, self.source.read_bytes(relpath), max_bytes=limit)
        self.problems.extend(problems)
        return yf


def load_desired(
    source_or_path: Source | str | os.PathLike[str],
    *,
    only_client_files: Collection[str] | None = None,
) -> DesiredState:
    """Load, check and resolve a desired-state tree (SPEC §3).

    `only_client_files` (paths as `list_files` gives them) resolves just those clients; settings,
    catalog and profiles are still loaded and checked. Raises ValidationFailed with every problem.
    """
    if isinstance(source_or_path, str | os.PathLike):
        source: Source = WorkingTree(source_or_path)
    else:
        source = source_or_path
    # Loading allocates millions of small acyclic objects that all stay alive; the cyclic GC
    # would rescan them again and again (about a third of the time at 10,000 clients).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(source, only_client_files)
    finally:
        if collecting:
            gc.enable()


def _load(source: Source, only_client_files: Collection[str] | None) -> DesiredState:
    """load_desired without the GC juggling."""
    problems: list[Problem] = []
    reader = _Reader(source, problems)
    exists = getattr(source, "exists", None)
    if exists is not None and not exists(SETTINGS_FILE):
        raise ReconcilerError(
            f"{source.root} is not a desired-state directory: it has no {SETTINGS_FILE}",
            hint="pass the right directory (argument, --dir or RECONCILER_DIR); "
            "`reconciler schema settings` shows the format",
        )
    settings_yf = reader.read(SETTINGS_FILE, DEFAULT_MAX_FILE_BYTES)
    settings, defaults, found = build_settings(settings_yf)
    problems.extend(found)
    limit = settings.max_file_bytes

    module_files, broken = [], set()
    for relpath in source.list_files("modules"):
        yf = reader.read(relpath, limit)
        if yf is None:
            broken.add(stem(relpath))
        else:
            module_files.append(yf)
    catalog = build_catalog(module_files, broken)
    problems.extend(catalog.problems)
    problems.extend(check_settings_ids(settings_yf, catalog))
    if defaults is not None:
        problems.extend(check_layer_modules(defaults, catalog))

    profiles: dict[str, Layer] = {}
    broken_profiles: set[str] = set()
    for relpath in source.list_files("profiles"):
        yf = reader.read(relpath, limit)
        layer, found = build_profile(yf) if yf is not None else (None, [])
        problems.extend(found)
        if layer is None:
            broken_profiles.add(stem(relpath))
            continue
        profiles[stem(relpath)] = layer
        problems.extend(check_layer_modules(layer, catalog))

    resolver = Resolver(settings, defaults, profiles, broken_profiles, catalog)
    problems.extend(resolver.check_shared())
    seen_clients: list[str] = []
    clients = _load_clients(source, reader, resolver, only_client_files, problems, seen_clients)
    if problems:
        unique = sorted(set(problems))
        count = f"{len(unique)} problem{'s' if len(unique) != 1 else ''}"
        error = ValidationFailed(
            f"{count} in desired state",
            hint="fix them and run `reconciler validate` again",
            problems=unique,
        )
        # How many files of each kind were read, for `validate`'s summary.
        error.counts = {  # type: ignore[attr-defined]
            "clients": len(seen_clients),
            "modules": len(module_files) + len(broken),
            "profiles": len(profiles) + len(broken_profiles),
        }
        raise error
    return DesiredState(
        root=source.root,
        settings=settings,
        catalog=dict(sorted(catalog.modules.items())),
        clients=clients,
        commit=source.commit,
        profiles={name: layer.data for name, layer in sorted(profiles.items())},
    )


def _load_clients(
    source: Source,
    reader: _Reader,
    resolver: Resolver,
    only: Collection[str] | None,
    problems: list[Problem],
    seen: list[str],
) -> Mapping[str, ClientDesired]:
    """Parse, check and resolve client files; duplicate client_ids point at each other."""
    wanted = None if only is None else set(only)
    owners: dict[str, list[YamlFile]] = {}
    clients: dict[str, ClientDesired] = {}
    limit = resolver.settings.max_file_bytes
    for relpath in source.list_files("clients"):
        if wanted is not None and relpath not in wanted:
            continue
        seen.append(relpath)
        yf = reader.read(relpath, limit)
        if yf is None:
            continue
        found = check_file("client", yf)
        client_id: Any = yf.data.get("client_id")
        if isinstance(client_id, str):
            owners.setdefault(client_id, []).append(yf)
        if found:
            problems.extend(found)
            continue
        client, found = resolver.resolve(yf)
        problems.extend(found)
        if client is not None:
            clients.setdefault(client.client_id, client)
    problems.extend(duplicate_client_ids(owners))
    return dict(sorted(clients.items()))
