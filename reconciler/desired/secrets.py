"""Secret references for sensitive settings (issue 18): `{secret: {env: NAME}}` and
`{secret: {file: path}}`.

Loading checks them (shape, only where settings_schema says `sensitive: true`) and flags
clear-text sensitive values; only plan, apply and drift resolve them to values (through
`SecretResolver`, in memory), and no message here ever holds a resolved value.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from reconciler.desired.cache_codec import LazyModules
from reconciler.desired.schema import secret_ref_validator
from reconciler.desired.yamlsafe import YamlFile
from reconciler.errors import Problem, ReconcilerError
from reconciler.model import (
    JSON,
    ClientDesired,
    DesiredModule,
    DesiredState,
    ModuleDef,
    is_mapping,
    is_secret_ref,
)

Path_ = tuple[str | int, ...]  # a JSON path with list indices
Finding = tuple[Path_, str]  # where, reason

NOT_SENSITIVE = (
    "a secret reference is allowed only where the module's settings_schema marks the setting "
    "`sensitive: true`"
)
PLAINTEXT = (
    "clear-text value for a sensitive setting; write a reference instead: "
    "{secret: {env: NAME}} or {secret: {file: path}}"
)


# Values that hold no reference and nothing to walk (a tuple is not walked either).
_SCALARS = frozenset({str, int, float, bool, type(None), tuple})


def _plain(path: Path_) -> tuple[str, ...]:
    """The schema path of a value path: list indices dropped (a path through a list applies
    to each of its items, as masking does)."""
    return tuple(p for p in path if isinstance(p, str))


def refs_in(value: JSON, prefix: Path_ = ()) -> Iterator[tuple[Path_, Mapping[str, JSON]]]:
    """Every secret reference inside `value`, with its path."""
    found: list[tuple[Path_, Mapping[str, JSON]]] = []
    _refs(value, prefix, found)
    return iter(found)


def _refs(value: JSON, prefix: Path_, found: list[tuple[Path_, Mapping[str, JSON]]]) -> None:
    """refs_in into a list: plain calls, and none for the scalars that most values are."""
    if is_secret_ref(value):
        found.append((prefix, value))
    elif is_mapping(value):
        for key, item in value.items():
            kind = type(item)
            if kind is dict or kind is list or kind not in _SCALARS:
                _refs(item, (*prefix, str(key)), found)
    elif type(value) is list:
        for i, item in enumerate(value):
            kind = type(item)
            if kind is dict or kind is list or kind not in _SCALARS:
                _refs(item, (*prefix, i), found)


def values_at(
    value: JSON, path: tuple[str, ...], prefix: Path_ = ()
) -> Iterator[tuple[Path_, JSON]]:
    """The values at `path` inside `value` (through lists, each item)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from values_at(item, path, (*prefix, i))
        return
    if not path:
        yield prefix, value
        return
    if is_mapping(value) and path[0] in value and not is_secret_ref(value):
        yield from values_at(value[path[0]], path[1:], (*prefix, path[0]))


def ref_paths(settings: JSON, sensitive: Collection[tuple[str, ...]]) -> list[Path_]:
    """Paths of the references at sensitive places (schema findings there do not apply)."""
    if not sensitive:
        return []
    return [path for path, _ in refs_in(settings) if _plain(path) in sensitive]


def settings_findings(
    settings: JSON,
    sensitive: Collection[tuple[str, ...]],
    refs: list[tuple[Path_, Mapping[str, JSON]]] | None = None,
) -> tuple[list[Finding], list[Finding]]:
    """(errors, clear-text values) of one layer's settings of a module: references where the
    setting is not sensitive, and sensitive settings given as a value. `refs`: the settings'
    `refs_in`, when the caller has them."""
    found = list(refs_in(settings)) if refs is None else refs
    errors: list[Finding] = [
        (path, NOT_SENSITIVE) for path, _ in found if _plain(path) not in sensitive
    ]
    plaintext: list[Finding] = [
        (path, PLAINTEXT)
        for secret in sorted(sensitive)
        for path, value in values_at(settings, secret)
        if value is not None and not is_secret_ref(value)
    ]
    return errors, plaintext


def secret_problems(
    yf: YamlFile,
    base: Path_,
    modules: Mapping[str, JSON],
    sensitive: Mapping[str, Collection[tuple[str, ...]]],
    plaintext: str,
) -> list[Problem]:
    """Problems of the secret references and clear-text sensitive values under `modules` (a
    `modules:` mapping of a file, at `base`); clear text is a warning unless `plaintext` is
    "forbid". Modules the catalog does not know are reported elsewhere."""
    problems: list[Problem] = []
    for module_id, entry in modules.items():
        settings = entry.get("settings") if isinstance(entry, Mapping) else None
        if module_id not in sensitive or not isinstance(settings, Mapping):
            continue
        at: Path_ = (*base, module_id, "settings")
        problems.extend(_secret_findings(yf, at, settings, sensitive[module_id], plaintext))
    return problems


def _secret_findings(
    yf: YamlFile,
    at: Path_,
    settings: Mapping[str, JSON],
    sensitive: Collection[tuple[str, ...]],
    plaintext: str,
) -> list[Problem]:
    refs = list(refs_in(settings))  # one walk for both the misplaced and the checked ones
    if not refs and not sensitive:
        return []
    errors, clear = settings_findings(settings, sensitive, refs)
    problems = [yf.problem((*at, *path), reason) for path, reason in errors]
    for path, ref in refs:
        if not sensitive or _plain(path) not in sensitive:
            continue  # as ref_paths: only the references at sensitive places
        for inner, key, reason in secret_ref_validator().findings(ref):
            problems.append(yf.problem((*at, *path, *inner), reason, key=key))
    warn = plaintext != "forbid"
    problems.extend(
        replace(yf.problem((*at, *path), reason), warning=warn) for path, reason in clear
    )
    return problems


def module_default_problems(
    yf: YamlFile, sensitive: Collection[tuple[str, ...]], plaintext: str
) -> list[Problem]:
    """Like `secret_problems`, for a module file's default_settings."""
    defaults = yf.data.get("default_settings")
    if not sensitive or not isinstance(defaults, Mapping):
        return []
    return _secret_findings(yf, ("default_settings",), defaults, sensitive, plaintext)


def unresolved_error(lines: Sequence[str]) -> ReconcilerError:
    """The refusal for secret references that cannot be resolved; nothing was written."""
    head = (
        lines[0]
        if len(lines) == 1
        else f"{len(lines)} secret references cannot be resolved:\n  " + "\n  ".join(lines)
    )
    return ReconcilerError(
        f"{head}\nnothing was written",
        hint="set the environment variables or mount the files the references name, then run again",
    )


# A secret file changed this close to being read may change again within its timestamps'
# granularity: its stamp does not stand for its content (as for the desired cache's stamps).
RACY_NS = 2_000_000_000


class SecretResolver:
    """Resolves references against the environment and files under `directory` (the
    desired-state directory on disk); a file is read once.

    `sources` says, for each client whose references it resolved, where the values came from
    without holding or hashing them: each file's path and what `fstat` said of it when read
    (device, inode, size, mtime, ctime). None when a value has no such stamp (an environment
    variable, a file changed within two seconds of being read): the plan and drift memos
    (api/_memo.py) remember a resolved client only under the stamps of its secret files."""

    def __init__(self, directory: str, env: Mapping[str, str] | None = None) -> None:
        self.directory = Path(directory)
        self.env = os.environ if env is None else env
        self._files: dict[str, str | None] = {}
        self._file_errors: dict[str, str] = {}
        self._stamps: dict[str, str | None] = {}  # file reference -> its stamp, if trusted
        self.sources: dict[str, str | None] = {}  # client_id -> its secret files' stamps

    def value(self, ref: Mapping[str, JSON]) -> tuple[str | None, str]:
        """(the value, "") or (None, why not), never holding the value in the reason."""
        spec = ref.get("secret")
        if isinstance(spec, Mapping) and isinstance(spec.get("env"), str):
            name = spec["env"]
            found = self.env.get(name)
            if found is None:
                return None, f"environment variable {name} is not set"
            if found == "":
                return None, f"environment variable {name} is empty"
            return found, ""
        if isinstance(spec, Mapping) and isinstance(spec.get("file"), str):
            return self._file(spec["file"])
        return None, "not a valid secret reference"  # validation reports it; never reached

    def _file(self, name: str) -> tuple[str | None, str]:
        if name not in self._files:
            path = Path(name) if os.path.isabs(name) else self.directory / name
            started = time.time_ns()
            try:
                with path.open(encoding="utf-8") as handle:  # as read_text: universal newlines
                    info = os.fstat(handle.fileno())
                    text = handle.read()
                changed = max(info.st_mtime_ns, info.st_ctime_ns)
                self._stamps[name] = (
                    f"{path}:{info.st_dev}:{info.st_ino}:{info.st_size}:"
                    f"{info.st_mtime_ns}:{info.st_ctime_ns}"
                    if started - changed > RACY_NS
                    else None
                )
                text = text[:-1] if text.endswith("\n") else text
                self._files[name] = text[:-1] if text.endswith("\r") else text
            except FileNotFoundError:
                self._file_errors[name] = f"secret file {path} does not exist"
            except UnicodeDecodeError:
                self._file_errors[name] = f"secret file {path} is not UTF-8 text"
            except OSError as exc:
                self._file_errors[name] = f"secret file {path} cannot be read ({exc.strerror})"
            if name in self._file_errors:
                self._files[name] = None
        found = self._files[name]
        return (found, "") if found is not None else (None, self._file_errors[name])

    def resolve(
        self, client: ClientDesired, sensitive: Mapping[str, Collection[tuple[str, ...]]]
    ) -> tuple[ClientDesired, list[str]]:
        """The client with every reference replaced by its value, and why any could not be."""
        if isinstance(client.modules, LazyModules) and not client.modules.refs:
            return client, []  # from the cache, with no reference anywhere (most clients)
        problems: list[str] = []
        sources: list[str | None] = []
        modules: dict[str, DesiredModule] = {}  # the modules with references, resolved
        for module_id in client.modules:  # a cached client's modules are built on access
            paths = sensitive.get(module_id)
            if not paths:
                continue
            module = client.modules[module_id]
            found = [(p, v) for s in sorted(paths) for p, v in values_at(module.settings, s)]
            refs = [(p, v) for p, v in found if is_secret_ref(v)]
            if not refs:
                continue
            settings: JSON = module.settings
            for path, ref in refs:
                value, why = self.value(ref)
                if value is None:
                    where = ".".join(str(p) for p in path)
                    label = (
                        f"{client.client_id} ({client.file})" if client.file else client.client_id
                    )
                    problems.append(f"client {label}: module {module_id} setting {where}: {why}")
                    continue
                settings = set_at(settings, path, value)
                sources.append(self._source(ref))
            modules[module_id] = replace(module, settings=settings)
        if not modules or problems:
            return client, problems
        known = None if None in sources else "\0".join(s for s in sources if s is not None)
        self.sources[client.client_id] = known
        kept = client.modules
        every = kept.replaced(modules) if isinstance(kept, LazyModules) else {**kept, **modules}
        return replace(client, modules=every), problems

    def _source(self, ref: Mapping[str, JSON]) -> str | None:
        """The stamp of a resolved reference's file; None for an environment variable."""
        spec = ref.get("secret")
        if isinstance(spec, Mapping) and isinstance(spec.get("file"), str):
            return self._stamps.get(spec["file"])
        return None

    def resolve_all(
        self, clients: Sequence[ClientDesired], catalog: Mapping[str, ModuleDef]
    ) -> tuple[list[ClientDesired], list[str]]:
        """Every client resolved, and every reference that could not be (all clients)."""
        sensitive = {m.id: m.sensitive_paths for m in catalog.values() if m.sensitive_paths}
        resolved: list[ClientDesired] = []
        problems: list[str] = []
        for client in clients:
            done, found = self.resolve(client, sensitive)
            resolved.append(done)
            problems.extend(found)
        return resolved, problems


def set_at(node: JSON, path: Path_, value: JSON) -> JSON:
    """A copy of `node` with `value` at `path` (the original is shared and never mutated)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, list):
        copy = list(node)
        copy[int(head)] = set_at(copy[int(head)], rest, value)
        return copy
    result = dict(node)
    result[str(head)] = set_at(result[str(head)], rest, value)
    return result


def resolve_or_raise(
    clients: Sequence[ClientDesired], catalog: Mapping[str, ModuleDef], directory: str
) -> list[ClientDesired]:
    """Every client resolved, or a refusal naming each reference that cannot be."""
    resolved, problems = SecretResolver(directory).resolve_all(clients, catalog)
    if problems:
        raise unresolved_error(problems)
    return resolved


def directory_of(source: object) -> str:
    """Where relative `file:` references are found: the desired-state directory on disk (also
    for `--ref`: secrets are mounted, not committed)."""
    return str(getattr(source, "directory", None) or getattr(source, "root", "."))


def state_directory(state: DesiredState) -> str:
    """`directory_of` for a loaded state: its root, or for `--ref` (`path@rev`) the path."""
    if Path(state.root).is_dir() or "@" not in state.root:
        return state.root
    return state.root.rsplit("@", 1)[0]
