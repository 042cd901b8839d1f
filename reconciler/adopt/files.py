"""`import`: adopt the live state of both stores as client files (SPEC §6).

Modules are classified by source (`plan.unified.unify`), disagreements between the stores
reported, and every module enabled in either store is written (issue 13: nothing left out).
Files are checked by the real loader and planner before they are written: planning a file may
only adopt modules into the registry (no behaviour change); a live state a file cannot express
otherwise is marked `strategy: preserve` (listed, never touched). Only modules no store enables,
or whose live state breaks a catalog rule, may be left out (reported).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.adopt.references import with_references
from reconciler.desired.load import load_desired
from reconciler.desired.secrets import SecretResolver
from reconciler.desired.source import WorkingTree
from reconciler.desired.write import (
    Handling,
    Overlay,
    client_document,
    client_yaml,
    live_overrides,
    write_client_file,
)
from reconciler.errors import Problem, ValidationFailed
from reconciler.model import (
    JSON,
    ClientLive,
    DesiredState,
    StrategyName,
    UnifiedModule,
    rename_map,
)
from reconciler.plan.build import plan_client, sensitive_paths
from reconciler.plan.model import Change, ChangeKind
from reconciler.plan.rows import change_row
from reconciler.plan.unified import unify
from reconciler.results import ImportedClient, ImportedModule

MAX_ROUNDS = 6
# What the plan right after import may hold: the registry adopting modules only the legacy list
# has, and legacy entries renamed to the module replacing them (`replaces`): no behaviour change.
ADOPTION = frozenset({ChangeKind.ADOPT, ChangeKind.RENAME})


@dataclass(slots=True)
class _Work:
    """The evolving decision for one client while the importer converges."""

    live: ClientLive
    unified: list[UnifiedModule]
    relpath: str  # inside the desired-state tree, for validation
    target: Path
    name: str
    handling: dict[str, Handling]
    disable: set[str]
    client_preserve: bool = False
    bad_settings: set[str] = field(default_factory=set)
    notes: dict[str, list[str]] = field(default_factory=dict)  # module ("" = client) -> notes
    error: str = ""
    # Sensitive live values the file refers to: variable -> (module, dotted path, value).
    secrets: dict[str, tuple[str, str, str]] = field(default_factory=dict)


def import_clients(
    state: DesiredState,
    desired_dir: str,
    lives: dict[str, ClientLive],
    *,
    out_dir: str | None,
    force: bool,
    strategy: StrategyName,
) -> list[ImportedClient]:
    """Decide, check and write the client file of every client in `lives`."""
    layer = set((state.settings.defaults.get("modules") or {}).keys()) & set(state.catalog)
    existing = {cid: c.file for cid, c in state.clients.items()}
    done: list[ImportedClient] = []
    works: dict[str, _Work] = {}
    for cid, live in sorted(lives.items()):
        relpath = existing.get(cid) or f"clients/{_file_name(cid)}"
        rel_in_clients = Path(relpath).relative_to("clients")
        target = Path(out_dir) / rel_in_clients if out_dir else Path(desired_dir) / relpath
        if os.path.lexists(target) and not force:  # a dangling symlink is an entry too
            done.append(ImportedClient(client_id=cid, file=str(target), status="exists"))
            continue
        unified = unify(live, state.settings.legacy_defaults, _renames(state))
        works[cid] = _new_work(state, live, unified, relpath, target, layer)
    settled = _converge(state, desired_dir, works, layer, strategy)
    for cid, work in works.items():
        text = client_yaml(_document(state, cid, work, strategy), _comments(work, _renames(state)))
        if cid not in settled:
            status = "failed"
        else:
            existed = os.path.lexists(work.target)
            if write_client_file(work.target, text, force=force):
                status = "overwritten" if existed else "written"
            else:  # created meanwhile: not clobbered
                status = "exists"
        done.append(_report(state, cid, work, status, strategy))
    return sorted(done, key=lambda c: c.client_id)


def _renames(state: DesiredState) -> dict[str, str]:
    """Old id -> new id: a legacy entry under an old id is imported as the new module."""
    return rename_map(state.catalog.values())


def _file_name(client_id: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in client_id).strip(".")
    return f"{safe or 'client'}.yaml"


def _new_work(
    state: DesiredState,
    live: ClientLive,
    unified: list[UnifiedModule],
    relpath: str,
    target: Path,
    layer: set[str],
) -> _Work:
    known = [m for m in unified if m.id in state.catalog]
    current = state.clients.get(live.client_id)
    return _Work(
        live=live,
        unified=unified,
        relpath=relpath,
        target=target,
        name=current.name if current else "",
        handling={m.id: "listed" for m in known},
        disable=layer - {m.id for m in unified},
    )


def _document(
    state: DesiredState, cid: str, work: _Work, strategy: StrategyName
) -> dict[str, JSON]:
    """The client file; each sensitive live value written as an env reference (issue 18)."""
    doc = _plain_document(state, cid, work, strategy)
    work.secrets = with_references(doc, cid, state.catalog)
    return doc


def _plain_document(
    state: DesiredState, cid: str, work: _Work, strategy: StrategyName
) -> dict[str, JSON]:
    fallback = work.client_preserve and strategy != "preserve"
    return client_document(
        cid,
        name=work.name,
        modules=[m for m in work.unified if m.id in state.catalog],
        handling=work.handling,
        catalog_versions={m: d.version for m, d in state.catalog.items()},
        disable=work.disable,
        overrides=live_overrides(work.live.legacy),
        strategy="preserve" if fallback else strategy,
        module_strategy=strategy if fallback else None,
        bad_settings=work.bad_settings,
    )


def _converge(
    state: DesiredState,
    desired_dir: str,
    works: dict[str, _Work],
    layer: set[str],
    strategy: StrategyName,
) -> set[str]:
    """Demote modules until each client's file loads and plans to no writes; the settled ids."""
    sensitive = sensitive_paths(state.catalog)
    pending = dict(works)
    settled: set[str] = set()
    for _ in range(MAX_ROUNDS):
        if not pending:
            break
        files = {
            w.relpath: client_yaml(_document(state, cid, w, strategy)).encode()
            for cid, w in pending.items()
        }
        try:
            loaded = load_desired(Overlay(WorkingTree(desired_dir), files), only_client_files=files)
        except ValidationFailed as exc:
            _fix_problems(state, pending, exc.problems, layer, strategy)
            pending = {cid: w for cid, w in pending.items() if not w.error}
            continue
        for cid, work in list(pending.items()):
            # The references stand for the live values they replaced.
            env = {name: value for name, (_, _, value) in work.secrets.items()}
            loaded_client, _ = SecretResolver(desired_dir, env).resolve(
                loaded.clients[cid], sensitive
            )
            client_plan = plan_client(
                loaded_client,
                work.live,
                legacy_defaults=state.settings.legacy_defaults,
                sensitive=sensitive,
                renames=_renames(state),
            )
            writes: dict[str | None, Change] = {}
            for change in client_plan.changes:
                if not change.informational and change.kind not in ADOPTION:
                    writes.setdefault(change.module, change)
            if not writes:
                settled.add(cid)
                del pending[cid]
                continue
            for module, change in writes.items():
                row = change_row(change)
                what = f"{row.subject}: {row.detail} [{row.stores}]"
                if module is None:
                    work.client_preserve = True
                    _note(work, "", f"desired defaults would change the legacy row ({what}); "
                          "client strategy preserve keeps its overrides as they are")  # fmt: skip
                else:
                    _demote(state, work, module, f"plan would write {what}", layer, strategy)
        pending = {cid: w for cid, w in pending.items() if not w.error}
    for work in pending.values():
        work.error = "the live state cannot be expressed so that plan is empty"
    return settled


def _note(work: _Work, module: str, text: str) -> None:
    notes = work.notes.setdefault(module, [])
    if text not in notes:
        notes.append(text)


def _needed(state: DesiredState, work: _Work, besides: str) -> set[str]:
    """Modules that the other enabled modules the file mentions require."""
    return {
        dep.id
        for m in work.unified
        if m.enabled
        and m.id != besides
        and work.handling.get(m.id, "omit") != "omit"
        and m.id in state.catalog  # a module live still has but the catalog retired
        for dep in state.catalog[m.id].dependencies
        if not dep.optional
    }


def _demote(
    state: DesiredState,
    work: _Work,
    module: str,
    why: str,
    layer: set[str],
    strategy: StrategyName,
    *,
    for_validation: bool = False,
) -> None:
    """Stop managing `module`, one rung at a time: listed -> preserve -> preserve-off (the
    stores disagree on enabled). An enabled module is left out (strategy merge keeps it) only
    when its live state breaks a catalog rule no listing can pass; a disabled one may be left
    out first."""
    _note(work, module, why)
    live = next(m for m in work.unified if m.id == module)
    in_legacy = module in work.live.legacy_modules(state.settings.legacy_defaults, _renames(state))
    row = work.live.registry.get(module)
    disagree = row is not None and in_legacy != row.enabled
    allowed: dict[Handling, bool] = {
        "omit": strategy == "merge"
        and (for_validation or not live.enabled)  # an enabled module is written (issue 13)
        and module not in layer
        and module not in _needed(state, work, module),
        "preserve": not for_validation or not live.enabled,
        "preserve-off": disagree,
    }
    ladder: list[Handling] = (
        ["listed", "preserve", "preserve-off", "omit"]
        if live.enabled
        else ["listed", "omit", "preserve", "preserve-off"]
    )
    current = work.handling.get(module, "omit")
    for rung in ladder[ladder.index(current) + 1 :]:
        if allowed[rung]:
            work.handling[module] = rung
            return
    work.error = f"cannot express {module} so that plan is empty: {why}"


def _fix_problems(
    state: DesiredState,
    pending: dict[str, _Work],
    problems: Sequence[Problem],
    layer: set[str],
    strategy: StrategyName,
) -> None:
    """Settings failing their schema are dropped (module preserved); a module whose live state
    breaks a dependency or conflict rule is left out when possible; anything else fails."""
    by_file = {w.relpath: w for w in pending.values()}
    seen: set[tuple[str, str]] = set()
    for problem in problems:
        work = by_file.get(problem.location.file)
        if work is None or work.error:
            continue
        parts = problem.path.split(".")
        module = parts[2] if len(parts) >= 3 and parts[:2] == ["$", "modules"] else None
        if module is None or module not in work.handling:
            work.error = f"the live state is not valid desired state: {problem}"
            continue
        if (work.relpath, module) in seen:
            continue  # one rung per module and round
        seen.add((work.relpath, module))
        if len(parts) >= 4 and parts[3].startswith("settings"):
            work.bad_settings.add(module)
            if work.handling[module] == "listed":
                work.handling[module] = "preserve"
            _note(work, module, f"live settings do not pass its settings_schema ({problem.reason})")
        else:
            reason = f"{problem.reason} (in the live state)"
            _demote(state, work, module, reason, layer, strategy, for_validation=True)
            if work.error:
                work.error = f"the live state is not valid desired state: {problem}"


def _comments(work: _Work, renames: Mapping[str, str]) -> list[str]:
    sources = ", ".join(f"{m.id}={m.source}" for m in work.unified)
    lines = [
        "Imported from the live stores by `reconciler import`.",
        f"Module sources: {sources or 'none'}",
    ]
    if work.live.legacy is None:
        lines.append("No legacy row: the legacy defaults apply.")
    adopted = sorted(m.id for m in work.unified if m.source == "legacy" and m.id in work.handling)
    if adopted:
        lines.append(
            f"Only the legacy list enables {', '.join(adopted)}: `reconciler apply --adopt-only` "
            "adds them to the registry (no behaviour change)."
        )
    listed = work.live.legacy.modules_enabled if work.live.legacy is not None else ()
    renamed = [f"{old} -> {renames[old]}" for old in listed if old in renames]
    if renamed:
        lines.append(
            f"Legacy entries under a replaced id: {', '.join(renamed)}; "
            "`reconciler apply --adopt-only` writes the new id in their place."
        )
    omitted = sorted(m for m, how in work.handling.items() if how == "omit")
    if omitted:
        lines.append(f"Disabled in the registry, not listed: {', '.join(omitted)}")
    unknown = sorted(m.id for m in work.unified if m.id not in work.handling)
    if unknown:
        lines.append(f"Not in the catalog, cannot be listed: {', '.join(unknown)}")
    return lines


def _report(
    state: DesiredState, cid: str, work: _Work, status: str, strategy: StrategyName
) -> ImportedClient:
    modules = []
    for m in work.unified:
        conflicts = list(m.conflicts)
        catalog = state.catalog.get(m.id)
        how = work.handling.get(m.id, "unknown")
        if catalog is None:
            conflicts.append("not in the catalog (no modules/" + m.id + ".yaml): not listed")
        elif m.version is not None and m.version != catalog.version:
            conflicts.append(
                f"live version {m.version} differs from the catalog version {catalog.version}"
            )
        conflicts += work.notes.get(m.id, [])
        if how == "omit" and conflicts:
            conflicts.append(
                "kept as is: not listed (the client strategy leaves unlisted modules alone)"
            )
        elif how == "preserve":
            conflicts.append("kept as is: strategy preserve")
        modules.append(
            ImportedModule(
                id=m.id,
                source=m.source,
                enabled=m.enabled,
                version=m.version,
                handling=how,
                conflicts=tuple(conflicts),
            )
        )
    client_conflicts = list(work.notes.get("", []))
    if work.error:
        client_conflicts.append(work.error)
    return ImportedClient(
        client_id=cid,
        file=str(work.target),
        status=status,
        strategy="preserve" if work.client_preserve or strategy == "preserve" else strategy,
        legacy_row=work.live.legacy is not None,
        modules=tuple(modules),
        conflicts=tuple(client_conflicts),
        error=work.error,
        secret_variables=tuple(
            (name, module, path) for name, (module, path, _) in sorted(work.secrets.items())
        )
        if status in ("written", "overwritten")
        else (),
    )
