"""`plan --changed-since REV`: load just enough of both sides to find the changed clients (SPEC §6).

1. `git diff --name-only -z REV` (plus untracked files) names the changed paths.
2. Only client files changed: those files are resolved on both sides, nothing else.
3. A profile or module changed: the clients that can be affected are found without resolving
   the fleet. A client lists a profile, or mentions a module, only if its file holds that name's
   bytes, unless it spells it with a YAML escape (which needs a backslash): so only files
   containing a needle or a backslash are resolved, then filtered exactly by their resolved
   profiles and modules (`plan.changed.candidates`). A module that the reconciler.yaml
   defaults mention reaches every client: then the whole working tree is resolved.
4. reconciler.yaml changed in what clients resolve (defaults, default strategy, legacy
   defaults), or a module's `replaces` changed (a rename reads any client's legacy list
   differently, issue 13): every client is compared.
5. The candidates are resolved at REV (their blobs read in one batch; when only client files
   changed, REV's settings, catalog and profiles are the working tree's, reused as loaded) and
   compared by resolved state; clients whose file is gone are reported as deleted, never
   planned.
"""

from __future__ import annotations

from collections.abc import Collection

from reconciler.desired.load import DesiredStream, collect
from reconciler.desired.source import GitRevision, Source, WorkingTree
from reconciler.errors import ReconcilerError
from reconciler.git import changed_since
from reconciler.model import DesiredState, rename_map
from reconciler.plan import changed as ch


def _needles(changes: ch.PathChanges, shared: DesiredState) -> set[str] | None:
    """Names whose bytes every possibly affected client file holds; None: every client."""
    defaults_modules = set((shared.settings.defaults.get("modules") or {}).keys())
    if not changes.modules.isdisjoint(defaults_modules):
        return None
    needles = set(changes.profiles) | set(changes.modules)
    for name, data in shared.profiles.items():
        if not changes.modules.isdisjoint((data.get("modules") or {}).keys()):
            needles.add(name)  # the module reaches clients through this profile
    return needles


def _files_holding(source: Source, needles: Collection[str]) -> set[str]:
    """Client files whose raw bytes contain a needle or a backslash (a possible YAML escape)."""
    files = source.list_files("clients")
    if isinstance(source, GitRevision):
        source.prefetch(files)
    raw_needles = [n.encode() for n in needles] + [b"\\"]
    return {f for f in files if any(n in source.read_bytes(f) for n in raw_needles)}


def _shared_at(source: Source) -> DesiredStream | None:
    """A stream over `source` with its settings, catalog and profiles loaded and checked, or
    None when they do not load."""
    try:
        stream = DesiredStream(source)
        collect(stream, ())  # raises on any problem in them
    except ReconcilerError:
        return None
    return stream


def changed_clients(
    desired_dir: str, since: str, *, ref: str | None = None
) -> tuple[DesiredState, ch.ChangedSince]:
    """The current desired state (holding at least the changed clients) and what was compared;
    see `api.changed_clients`."""
    repo, paths = changed_since(desired_dir, since, ref)
    changes = ch.classify_paths(paths)
    head_source: Source = (
        GitRevision(desired_dir, ref, repo=repo) if ref else WorkingTree(desired_dir)
    )
    base_source = GitRevision(desired_dir, since, repo=repo)
    try:
        return _compare(changes, paths, head_source, base_source, since, ref)
    finally:
        base_source.close()
        if isinstance(head_source, GitRevision):
            head_source.close()


def _compare(
    changes: ch.PathChanges,
    paths: list[str],
    head_source: Source,
    base_source: GitRevision,
    since: str,
    ref: str | None,
) -> tuple[DesiredState, ch.ChangedSince]:
    base_stream = _shared_at(base_source) if changes.settings or changes.modules else None
    base_settings = base_stream.settings if base_stream is not None and changes.settings else None
    head_stream = DesiredStream(head_source)
    only: set[str] | None = set(changes.client_files)
    renamed = False  # a module's `replaces` changed: every client's legacy list reads anew
    if changes.fans_out:  # find who can use what changed without resolving the fleet
        shared = collect(head_stream, ())
        before = rename_map(base_stream.catalog.values()) if base_stream is not None else {}
        renamed = bool(changes.modules) and before != rename_map(shared.catalog.values())
        settings_changed = renamed or (
            changes.settings and ch.settings_affect_clients(base_settings, shared.settings)
        )
        needles = None if settings_changed else _needles(changes, shared)
        if needles is None:
            only = None  # a change every client resolves: load the whole tree
        else:
            only = set(changes.client_files) | _files_holding(head_source, needles)
    head = collect(head_stream, only)
    settings_changed = renamed or (
        changes.settings and ch.settings_affect_clients(base_settings, head.settings)
    )
    compared = ch.candidates(changes, head.clients, settings_changed=settings_changed)
    files = changes.client_files | {head.clients[c].file for c in compared}
    warnings: list[str] = []
    try:
        base_source.prefetch(files)
        if base_stream is None:
            # Only client files changed: REV's settings, modules and profiles are the same bytes.
            same_shared = head_stream if not changes.fans_out else None
            base_stream = DesiredStream(base_source, shared_from=same_shared)
        base = collect(base_stream, files).clients
    except ReconcilerError as exc:
        warnings.append(
            f"the desired state at {since} does not load ({exc.message}); "
            "every candidate client is planned"
        )
        base = None
    legacy_changed = renamed or (
        base_settings is not None and base_settings.legacy_defaults != head.settings.legacy_defaults
    )
    changed, deleted = ch.compare(base, head.clients, compared, force_all=legacy_changed)
    return head, ch.ChangedSince(
        rev=since,
        commit=base_source.commit,
        head=f"--ref {ref}" if ref else "working tree",
        paths=tuple(paths),
        compared=len(compared),
        changed=tuple(changed),
        deleted=tuple(deleted),
        warnings=tuple(warnings),
    )
