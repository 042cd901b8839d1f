"""`explain`: for each resolved value of one client, the layer that set it and the layers it
overrode, each at file:line:col (issue 16). Resolution is recomputed per layer from the same
files resolve.py merges (module default_settings -> reconciler.yaml defaults -> profiles in
order -> client file), so the answer and the resolved client cannot disagree."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from reconciler.desired.load import SETTINGS_FILE, DesiredStream
from reconciler.desired.resolve import Layer
from reconciler.desired.yamlsafe import JsonPath, YamlFile
from reconciler.errors import Location, ReconcilerError
from reconciler.model import JSON, ClientDesired, is_secret_ref
from reconciler.results import ExplainReport, Origin, Provenance

MASK = "(sensitive)"
MODULE_DEFAULTS = "module default_settings"
# (layer label, file, the mapping paths are looked up in, its place in the file, path in it)
Source = tuple[str, YamlFile, Mapping[str, Any], JsonPath, JsonPath]
_MISSING = object()


def _get(data: Any, path: JsonPath) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            return _MISSING
        data = data[part]
    return data


def _origins(sources: Sequence[Source], masked: bool) -> list[Origin]:
    """The sources that set a path, lowest first."""
    found = []
    for label, yf, data, base, path in sources:
        value = _get(data, path)
        if value is not _MISSING:
            shown = MASK if masked else value
            found.append(Origin(label, yf.locate((*base, *path)), shown))
    return found


def _value(path: str, value: JSON, origins: list[Origin], masked: bool) -> Provenance | None:
    if not origins:
        return None
    return Provenance(
        path=path, value=MASK if masked else value, set_by=origins[-1], overrode=tuple(origins[:-1])
    )


def _leaves(value: JSON, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], JSON]]:
    """Every leaf value with its path; a secret reference is one value (issue 18)."""
    if isinstance(value, dict) and value and not is_secret_ref(value):
        for key in sorted(value):
            yield from _leaves(value[key], (*prefix, str(key)))
    else:
        yield prefix, value


def _layer_sources(layers: Sequence[Layer], path: JsonPath) -> list[Source]:
    return [(layer.label, layer.yf, layer.data, layer.base, path) for layer in layers]


def find_client(stream: DesiredStream, who: str) -> tuple[str, YamlFile]:
    """The client file whose client_id or name is `who` (found by its bytes first)."""
    needle = who.encode()
    matches = []
    for relpath in stream.client_files():
        if needle not in stream.source.read_bytes(relpath):
            continue
        yf = stream.read(relpath)
        if yf is not None and who in (yf.data.get("client_id"), yf.data.get("name")):
            matches.append((relpath, yf))
    if not matches:
        raise ReconcilerError(
            f"no client {who!r} in {stream.source.root}",
            hint="name a client by its client_id or its name (see clients/*.yaml)",
        )
    if len(matches) > 1:
        files = ", ".join(relpath for relpath, _ in matches)
        raise ReconcilerError(
            f"{who!r} names more than one client ({files})", hint="use the client_id"
        )
    return matches[0]


def explain_client(stream: DesiredStream, who: str, selector: str = "") -> ExplainReport:
    """Where every resolved value of client `who` (client_id or name) comes from; with
    `selector` (MODULE, MODULE.settings.PATH, overrides.PATH, strategy), only those values.

    Raises:
        ValidationFailed: the tree (or this client file) has problems.
        ReconcilerError: no such client, or the selector matches nothing.
    """
    relpath, yf = find_client(stream, who)
    client = stream.resolve_file(relpath)
    stream.finish()
    assert client is not None  # finish() raised otherwise
    layers = stream.layers_of(yf)
    values = [*_client_values(stream, yf, client), *_override_values(layers, client)]
    for module_id in sorted(client.modules):
        values.extend(_module_values(stream, layers, client, module_id))
    chosen = _select(values, selector, client)
    return ExplainReport(
        client_id=client.client_id,
        name=client.name,
        file=client.file,
        profiles=client.profiles,
        selector=selector,
        values=tuple(chosen),
    )


def _client_values(
    stream: DesiredStream, yf: YamlFile, client: ClientDesired
) -> Iterator[Provenance]:
    own: list[Source] = [("client file", yf, yf.data, (), ("profiles",))]
    if (
        found := _value("profiles", list(client.profiles), _origins(own, False), False)
    ) is not None:
        yield found
    sources: list[Source] = []
    settings_yf = stream.read(SETTINGS_FILE)
    if settings_yf is not None:
        sources.append(("reconciler.yaml", settings_yf, settings_yf.data, (), ("strategy",)))
    sources.append(("client file", yf, yf.data, (), ("strategy",)))
    origins = _origins(sources, False) or [Origin("built-in default", Location(""), "merge")]
    found = _value("strategy", client.strategy, origins, False)
    if found is not None:
        yield found


def _override_values(layers: Sequence[Layer], client: ClientDesired) -> Iterator[Provenance]:
    for path, value in _leaves(dict(client.overrides)):
        origins = _origins(_layer_sources(layers, ("overrides", *path)), False)
        found = _value(".".join(("overrides", *path)), value, origins, False)
        if found is not None:
            yield found


def _module_values(
    stream: DesiredStream, layers: Sequence[Layer], client: ClientDesired, module_id: str
) -> Iterator[Provenance]:
    desired = client.modules[module_id]
    at = ("modules", module_id)
    name = f"modules.{module_id}"
    enabled = _origins(_layer_sources(layers, (*at, "enabled")), False)
    # Listed without `enabled` means true: the lowest layer naming the module brings it in.
    listing = _origins(_layer_sources(layers, at), False)[:1]
    if listing and listing[0].layer not in {o.layer for o in enabled}:
        enabled = [Origin(listing[0].layer, listing[0].location, True), *enabled]
    if (found := _value(f"{name}.enabled", desired.enabled, enabled, False)) is not None:
        yield found
    module_yf = stream.module_file(module_id)
    if module_yf is not None:
        origin = Origin("module file", module_yf.locate(("version",)), desired.version)
        yield Provenance(path=f"{name}.version", value=desired.version, set_by=origin)
    ranges = _origins(_layer_sources(layers, (*at, "version")), False)
    if ranges:
        found = _value(f"{name}.version_range", ranges[-1].value, ranges, False)
        if found is not None:
            yield found
    strategies = _origins(_layer_sources(layers, (*at, "strategy")), False)
    if (found := _value(f"{name}.strategy", desired.strategy, strategies, False)) is not None:
        yield found
    module = stream.catalog.get(module_id)
    sensitive = module.sensitive_paths if module is not None else frozenset()
    for path, value in _leaves(dict(desired.settings)):
        masked = any(_prefix(path, s) or _prefix(s, path) for s in sensitive)
        sources: list[Source] = []
        if module_yf is not None:
            sources.append(
                (MODULE_DEFAULTS, module_yf, module_yf.data, (), ("default_settings", *path))
            )
        sources += _layer_sources(layers, (*at, "settings", *path))
        origins = _origins(sources, masked)
        found = _value(".".join((name, "settings", *path)), value, origins, masked)
        if found is not None:
            yield found


def _prefix(short: Sequence[str], long: Sequence[str]) -> bool:
    return len(short) <= len(long) and tuple(long[: len(short)]) == tuple(short)


def _select(values: list[Provenance], selector: str, client: ClientDesired) -> list[Provenance]:
    if not selector:
        return values
    top = selector.split(".", 1)[0]
    if top in ("overrides", "strategy", "profiles"):
        wanted = selector
    elif top in client.modules:
        wanted = f"modules.{selector}"
    else:
        raise ReconcilerError(
            f"{top!r} is not a module of {client.name or client.client_id}",
            hint=f"its modules: {', '.join(sorted(client.modules)) or 'none'}; "
            "or overrides.PATH, strategy, profiles",
        )
    chosen = [v for v in values if v.path == wanted or v.path.startswith(wanted + ".")]
    if not chosen:
        raise ReconcilerError(
            f"{selector!r} is not a resolved value of {client.name or client.client_id}",
            hint="run without it to list every value, e.g. MODULE.settings.KEY",
        )
    return chosen
