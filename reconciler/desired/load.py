"""Load a desired-state tree: parse, check and resolve everything, raise once with all problems."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from reconciler.desired.cache import Outcome, stream_cache
from reconciler.desired.cache_fleet import record_listing, save_verdict
from reconciler.desired.catalog import build_catalog, stem
from reconciler.desired.checks import (
    build_profile,
    build_settings,
    check_layer_modules,
    check_settings_ids,
    duplicate_client_ids,
    lookalike_clients,
)
from reconciler.desired.parallel import MIN_FILES, parallel_map, serial_map
from reconciler.desired.reader import Reader, no_gc
from reconciler.desired.resolve import Layer, Resolver
from reconciler.desired.rollout import check_wave_profiles
from reconciler.desired.schema import check_file
from reconciler.desired.secrets import module_default_problems
from reconciler.desired.source import YAML_SUFFIXES, Source, WorkingTree
from reconciler.desired.yamlsafe import YamlFile
from reconciler.errors import Location, Problem, ReconcilerError, ValidationFailed
from reconciler.model import JSON, ClientDesired, DesiredState, ModuleDef, Settings

if TYPE_CHECKING:
    from reconciler.desired.policy import Rule

R = TypeVar("R")
BATCH_SIZE = 2000  # client files per batch: memory grows with this, not with the fleet
SETTINGS_FILE = "reconciler.yaml"
DEFAULT_MAX_FILE_BYTES = 1024 * 1024


def _as_source(source_or_path: Source | str | os.PathLike[str]) -> Source:
    if isinstance(source_or_path, str | os.PathLike):
        return WorkingTree(source_or_path)
    return source_or_path


def load_desired(
    source_or_path: Source | str | os.PathLike[str],
    *,
    only_client_files: Collection[str] | None = None,
) -> DesiredState:
    """Load, check and resolve a desired-state tree (SPEC §3).

    `only_client_files` (paths as `list_files` gives them) resolves just those clients; settings,
    catalog and profiles are still loaded and checked. Raises ValidationFailed with every problem.
    """
    return collect(DesiredStream(_as_source(source_or_path)), only_client_files)


def collect(
    stream: DesiredStream, only_client_files: Collection[str] | None = None
) -> DesiredState:
    """Every client of `stream` (or just those files) resolved into one DesiredState."""
    with no_gc():
        clients: dict[str, ClientDesired] = {}
        for batch in stream.batches(only_client_files):
            for client in batch:
                clients.setdefault(client.client_id, client)
        stream.finish()
        return stream.state(dict(sorted(clients.items())))


class DesiredStream:
    """A desired-state tree read in batches of clients, so memory grows with the batch and not
    with the fleet (issue 8). Settings, catalog and profiles load at once; `batches()` parses,
    checks and resolves client files; `finish()` raises once with every problem found."""

    settings: Settings
    catalog: dict[str, ModuleDef]
    profiles: dict[str, Mapping[str, JSON]]
    policies: tuple[Rule, ...]
    _counts: dict[str, int]
    _resolver: Resolver
    _shared_problems: tuple[Problem, ...]

    def __init__(
        self, source: Source, *, shared_from: DesiredStream | None = None, policies: bool = True
    ) -> None:
        """`shared_from`: a stream over a tree whose reconciler.yaml, modules and profiles are
        byte for byte the same as `source`'s (the caller knows, e.g. from `git diff`): its
        loaded settings, catalog and profiles are reused instead of read and compiled again.
        `policies=False`: policies/ is not read (status, which judges no plan)."""
        self.source = source
        self.problems: list[Problem] = []  # warnings too (Problem.warning), split by finish()
        self._reader = Reader(source, self.problems)
        self._owners: dict[str, list[str]] = {}  # client_id -> files (relpaths) that claim it
        self._names: dict[str, list[str]] = {}  # name -> files (for lookalike names)
        self._seen = 0
        self._full = False  # whether every client file was read (a fleet verdict is kept then)
        self._with_policies = policies
        if shared_from is not None:
            self._share(shared_from)
            return
        self._reader.digests = {}
        with no_gc():
            self._load_shared()
        self.cache = stream_cache(source, self._reader.digests)
        self._reader.digests = None

    def _share(self, other: DesiredStream) -> None:
        self.problems.extend(other._shared_problems)
        self.settings, self.catalog, self.profiles = other.settings, other.catalog, other.profiles
        self.policies = other.policies
        self._counts, self._resolver = other._counts, other._resolver
        self.cache = other.cache.for_source(self.source) if other.cache is not None else None

    def _load_shared(self) -> None:
        source, reader, problems = self.source, self._reader, self.problems
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
        for module_id, module in catalog.modules.items():
            problems.extend(
                module_default_problems(
                    catalog.files[module_id], module.sensitive_paths, settings.plaintext_secrets
                )
            )
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

        known = set(profiles) | broken_profiles
        problems.extend(check_wave_profiles(settings_yf, settings.rollout, known))
        # policies/*.yaml (issue 16): compiled once here, evaluated by plan/policy.py.
        policy_dir = source.list_files("policies") if self._with_policies else []
        policy_files = [yf for relpath in policy_dir if (yf := reader.read(relpath, limit))]
        self.policies = ()
        if policy_files:  # cel-python (0.6 s to import and build its parser) only when needed
            from reconciler.desired.policy import compile_rules

            self.policies, found = compile_rules(policy_files, [*profiles, *broken_profiles])
            problems.extend(found)

        self.settings = settings
        self.catalog = dict(sorted(catalog.modules.items()))
        self.profiles = {name: layer.data for name, layer in sorted(profiles.items())}
        self._counts = {
            "modules": len(module_files) + len(broken),
            "profiles": len(profiles) + len(broken_profiles),
        }
        self._resolver = Resolver(settings, defaults, profiles, broken_profiles, catalog)
        problems.extend(self._resolver.check_shared())
        self._shared_problems = tuple(problems)

    def client_files(self, only: Collection[str] | None = None) -> list[str]:
        """Client files in order; with `only`, those of them that exist, found by name so a
        few files of a huge tree cost a few look-ups, not a listing of the whole folder."""
        if only is None:
            return self.source.list_files("clients")
        wanted = {f for f in only if f.startswith("clients/") and f.endswith(YAML_SUFFIXES)}
        existing = getattr(self.source, "existing", None)
        if existing is not None:
            return list(existing(wanted))
        exists = getattr(self.source, "exists", None)
        if exists is not None:
            return sorted(f for f in wanted if exists(f))
        return [f for f in self.source.list_files("clients") if f in wanted]

    def batches(
        self, only: Collection[str] | None = None, size: int | None = None
    ) -> Iterator[list[ClientDesired]]:
        """Resolved clients, `size` files at a time, in file order; problems are collected."""
        self._full = only is None
        return self._resolved(self.client_files(only), size or BATCH_SIZE)

    def _resolved(self, files: list[str], size: int) -> Iterator[list[ClientDesired]]:
        for start in range(0, len(files), size):
            with no_gc():
                yield self.resolve_files(files[start : start + size])

    def resolve_files(self, files: list[str]) -> list[ClientDesired]:
        """The resolved clients of these files (from the cache where it knows them)."""
        if self.cache is not None:
            self.cache.prepare(files, self.limit)
        clients = [c for f in files if (c := self.resolve_file(f))]
        if self.cache is not None:
            self.cache.flush()
        return clients

    @property
    def limit(self) -> int:
        return self.settings.max_file_bytes

    def map(
        self,
        task: Callable[..., R],
        args: tuple[Any, ...] = (),
        *,
        size: int | None = None,
        jobs: int = 1,
        on_progress: Callable[[int, int], None] | None = None,
        only: list[str] | None = None,
    ) -> Iterator[R]:
        """`task(stream, batch, *args)` for every batch of clients (of the files `only`), in
        file order. With `jobs` > 1 and a large working tree, worker processes parse, resolve
        and run the task. `on_progress(files done, files in all)` follows each batch."""
        self._full = only is None
        files = self.client_files() if only is None else only
        size = size or BATCH_SIZE
        if jobs > 1 and len(files) >= MIN_FILES and isinstance(self.source, WorkingTree):
            results = parallel_map(self, files, task, args, size, jobs)
        else:
            results = serial_map(self, self._resolved(files, size), task, args)
        done = 0
        for result in results:  # not enumerate: it holds the last result while asking the next
            done += 1  # noqa: SIM113
            if on_progress is not None:
                on_progress(min(done * size, len(files)), len(files))
            yield result
            del result  # not alive while the next batch is read (see serial_map)

    def resolve_file(self, relpath: str) -> ClientDesired | None:
        """Parse, check and resolve one client file; problems are collected, None if any."""
        self._seen += 1
        cache = self.cache
        outcome = self._outcome(relpath) if cache is None else cache.resolve(relpath, self._outcome)
        if outcome.client_id is not None:
            self._owners.setdefault(outcome.client_id, []).append(relpath)
        if outcome.name is not None:
            self._names.setdefault(outcome.name, []).append(relpath)
        self.problems.extend(outcome.problems)
        return outcome.client

    def _outcome(self, relpath: str, raw: bytes | None = None) -> Outcome:
        problems: list[Problem] = []
        yf = Reader(self.source, problems).read(relpath, self.limit, raw)
        if yf is None:
            return Outcome(None, problems, None, None, ())
        data = yf.data
        client_id, name, used = data.get("client_id"), data.get("name"), data.get("profiles")
        claims = (
            client_id if isinstance(client_id, str) else None,
            name if isinstance(name, str) else None,
            tuple(n for n in used if isinstance(n, str)) if isinstance(used, list) else (),
        )
        found = check_file("client", yf)
        if found:
            return Outcome(None, [*problems, *found], *claims)
        client, found = self._resolver.resolve(yf)
        return Outcome(client, [*problems, *found], *claims)

    def read(self, relpath: str) -> YamlFile | None:
        """One file of the tree, parsed (problems are collected)."""
        return self._reader.read(relpath, self.settings.max_file_bytes)

    def layers_of(self, yf: YamlFile) -> list[Layer]:
        """A client file's resolution layers, lowest first: defaults, its profiles, the file."""
        resolver = self._resolver
        names = [n for n in yf.data.get("profiles", []) if n in resolver.profiles]
        base = [resolver.defaults] if resolver.defaults is not None else []
        own = Layer(yf, (), yf.data, "client file")
        return [*base, *(resolver.profiles[n] for n in names), own]

    def module_file(self, module_id: str) -> YamlFile | None:
        """The parsed modules/<id>.yaml of a module that loaded."""
        return self._resolver.catalog.files.get(module_id)

    def reset_owners(self) -> None:
        self._owners = {}
        self._names = {}

    def owner_pairs(self) -> list[tuple[str, str, str]]:
        """(field, value, file): every client_id and name read since the last
        reset, for a worker to hand to the parent's `merge`."""
        return [("client_id", cid, f) for cid, files in self._owners.items() for f in files] + [
            ("name", name, f) for name, files in self._names.items() for f in files
        ]

    def merge(self, problems: list[Problem], owners: list[tuple[str, str, str]], seen: int) -> None:
        """Take in what a worker found (parallel.py), as if this stream had read the files."""
        self.problems.extend(problems)
        for field, value, relpath in owners:
            claims = self._owners if field == "client_id" else self._names
            claims.setdefault(value, []).append(relpath)
        self._seen += seen

    @property
    def warnings(self) -> list[Problem]:
        """Reported, never changing the verdict (issue 18): files the source did not read and
        why (a wrong-case suffix, a symlinked folder), and warnings found in files (a
        clear-text sensitive value)."""
        ignored: Mapping[str, str] = getattr(self.source, "ignored", {})
        found = {p for p in self.problems if p.warning}
        found |= {
            Problem(Location(path, 1, 1), "$", why, warning=True) for path, why in ignored.items()
        }
        return sorted(found)

    @property
    def seen(self) -> int:
        """How many client files were read so far."""
        return self._seen

    @property
    def client_ids(self) -> set[str]:
        """Every client_id seen so far (all of them once `batches()` is exhausted)."""
        return set(self._owners)

    def finish(self) -> None:
        """Raise ValidationFailed with every problem (duplicate client_ids included), if any;
        after a clean walk of every file, the cache keeps the verdict (for `--client`)."""
        duplicated = {cid: files for cid, files in self._owners.items() if len(files) > 1}
        if duplicated:
            limit = self.settings.max_file_bytes
            reread = {
                cid: [yf for f in files if (yf := self._reader.read(f, limit)) is not None]
                for cid, files in duplicated.items()
            }
            self.problems.extend(duplicate_client_ids(reread))
        self.problems.extend(lookalike_clients(self._owners, self._names, self._reread))
        valid = all(p.warning for p in self.problems)
        if self._full and self.cache is not None:
            if valid:
                save_verdict(self.cache, self._seen, [p for p in self.problems if p.warning])
            record_listing(self.cache, self.cache.keys, self.limit)
        if valid:
            return
        unique = sorted({p for p in self.problems if not p.warning})
        count = f"{len(unique)} problem{'s' if len(unique) != 1 else ''}"
        error = ValidationFailed(
            f"{count} in desired state",
            hint="fix them and run `reconciler validate` again",
            problems=unique,
            counts={"clients": self._seen, **self._counts},
            warnings=self.warnings,
        )
        raise error

    def _reread(self, relpath: str) -> YamlFile | None:
        return self._reader.read(relpath, self.settings.max_file_bytes)

    def state(self, clients: Mapping[str, ClientDesired]) -> DesiredState:
        """A DesiredState over these clients (all of them, or one batch)."""
        return DesiredState(
            root=self.source.root,
            settings=self.settings,
            catalog=self.catalog,
            clients=clients,
            commit=self.source.commit,
            profiles=self.profiles,
            policies=self.policies,
        )
