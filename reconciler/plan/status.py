"""The live unified view of clients for `status` (SPEC §4): a pure function of live state,
names and defaults from the desired state, and what is sensitive."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

from reconciler.model import NO_RENAMES, OVERRIDE_COLUMNS, ClientLive, Renames
from reconciler.plan.mask import mask_module_settings
from reconciler.plan.unified import unify
from reconciler.results import ClientStatus

Sensitive = Mapping[str, Collection[tuple[str, ...]]]


def client_status(
    live: ClientLive,
    name: str,
    defaults: Sequence[str],
    sensitive: Sensitive,
    renames: Renames = NO_RENAMES,
) -> ClientStatus:
    """One client's unified view with settings masked (known paths, else secret-like keys);
    with `renames`, legacy entries under an old id show as the module replacing it."""
    modules = tuple(
        replace(m, settings=mask_module_settings(m.id, m.settings, sensitive))
        for m in unify(live, defaults, renames)
    )
    legacy = live.legacy
    overrides = (
        {}
        if legacy is None
        else {key: getattr(legacy, column) for key, column in OVERRIDE_COLUMNS.items()}
    )
    return ClientStatus(
        client_id=live.client_id,
        name=name,
        legacy_modules=None if legacy is None else legacy.modules_enabled,
        overrides=overrides,
        modules=modules,
    )


def fleet_status(
    lives: Mapping[str, ClientLive],
    names: Mapping[str, str],
    defaults: Sequence[str],
    sensitive: Sensitive,
    chosen: Sequence[str] = (),
    renames: Renames = NO_RENAMES,
) -> tuple[list[ClientStatus], list[str]]:
    """The `chosen` clients in the order asked (with their conflicts and missing live state as
    warnings), or every client of `lives` and `names` sorted by id."""
    if not chosen:
        ids = sorted(set(lives) | set(names))
        fleet = [
            client_status(
                lives.get(c) or ClientLive(client_id=c),
                names.get(c, ""),
                defaults,
                sensitive,
                renames,
            )
            for c in ids
        ]
        return fleet, []
    clients, warnings = [], []
    for cid in chosen:
        live = lives[cid]
        client = client_status(live, names.get(cid, ""), defaults, sensitive, renames)
        clients.append(client)
        label = client.name or client.client_id
        if live.legacy is None and not live.registry:
            warnings.append(
                f"client {label}: no live state (no legacy row, so legacy defaults apply; "
                "no registry rows)"
            )
        for module in client.modules:
            warnings.extend(f"client {label}: {module.id}: {c}" for c in module.conflicts)
    return clients, warnings
