"""Work on one batch of resolved clients: the unit that fleet commands stream and, for large
trees, run in worker processes (issue 8). Functions here are module-level so they pickle."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from reconciler.api._memo import InSync
from reconciler.desired.load import DesiredStream
from reconciler.desired.secrets import SecretResolver, directory_of
from reconciler.live.engine import make_engine
from reconciler.live.fingerprints import live_fingerprints
from reconciler.live.state import read_live
from reconciler.model import ClientDesired, ClientLive, rename_map
from reconciler.plan.build import plan_clients, sensitive_paths
from reconciler.plan.model import ClientPlan
from reconciler.plan.policy import evaluate
from reconciler.plan.select import parse_shard
from reconciler.plan.violation import Violation

if TYPE_CHECKING:
    from reconciler.plan.drift import ClientDrift

log = logging.getLogger(__name__)


def select(
    batch: Sequence[ClientDesired], client_ids: Sequence[str], shard: str | None
) -> list[ClientDesired]:
    """The clients of a batch that `--client` and `--shard K/N` keep."""
    parsed = parse_shard(shard)
    wanted = set(client_ids)
    return [
        c
        for c in batch
        if (not wanted or c.client_id in wanted) and (parsed is None or c.client_id in parsed)
    ]


def resolved(
    stream: DesiredStream, chosen: list[ClientDesired]
) -> tuple[list[ClientDesired], list[str], Mapping[str, str | None]]:
    """The clients with their secret references resolved, those that cannot be (issue 18),
    and what each resolved client's values were read from (`SecretResolver.sources`)."""
    resolver = SecretResolver(directory_of(stream.source))
    clients, unresolved = resolver.resolve_all(chosen, stream.catalog)
    return clients, unresolved, resolver.sources


def validated(
    stream: DesiredStream, batch: list[ClientDesired], with_waves: bool
) -> tuple[list[str], list[ClientDesired]]:
    """`validate`: the files of the clients that resolved (relative to the root, for JUnit's
    one test case per file), and with rollout waves what wave selectors read of each client
    (id, name, profiles, labels), small enough to keep for the whole fleet."""
    keys = [
        ClientDesired(client_id=c.client_id, name=c.name, profiles=c.profiles, labels=c.labels)
        for c in (batch if with_waves else ())
    ]
    return [c.file for c in batch], keys


def plan(
    stream: DesiredStream,
    batch: list[ClientDesired],
    store_url: str,
    client_ids: Sequence[str],
    shard: str | None,
    adopt_only: bool = False,
) -> tuple[list[ClientPlan], int, list[Violation], list[str]]:
    """`plan`: the plans with changes of a batch, how many clients had none, the policy
    violations of those changes (issue 16), and the secret references that cannot be
    resolved (then nothing is planned, issue 18)."""
    plans, unchanged, violations, unresolved, _ = _plan(
        stream, batch, store_url, client_ids, shard, adopt_only, paths=True
    )
    return plans, unchanged, violations, unresolved


def plan_counted(
    stream: DesiredStream,
    batch: list[ClientDesired],
    store_url: str,
    client_ids: Sequence[str],
    shard: str | None,
    adopt_only: bool,
    show_all: int,
    shown: int,
) -> tuple[list[ClientPlan], int, list[Violation], list[str], dict[str, ClientDesired]]:
    """A streamed apply's pass 1: as `plan`, but where no policy reads the changes each
    module's settings change is one change (plan_client's `paths`), and with the resolved
    desired state of the clients a printed plan may show (all with changes when the batch has
    at most `show_all` of them, else the first `shown` by id), to plan those in full."""
    plans, unchanged, violations, unresolved, chosen = _plan(
        stream, batch, store_url, client_ids, shard, adopt_only, paths=not stream.policies
    )
    kept = plans if len(plans) <= show_all else plans[:shown]  # plans are in client id order
    by_id = {c.client_id: c for c in chosen}
    return plans, unchanged, violations, unresolved, {p.client_id: by_id[p.client_id] for p in kept}


def _plan(
    stream: DesiredStream,
    batch: list[ClientDesired],
    store_url: str,
    client_ids: Sequence[str],
    shard: str | None,
    adopt_only: bool,
    *,
    paths: bool,
) -> tuple[list[ClientPlan], int, list[Violation], list[str], list[ClientDesired]]:
    originals = select(batch, client_ids, shard)
    chosen, unresolved, sources = resolved(stream, originals)
    if not chosen or unresolved:
        return [], 0, [], unresolved, []
    memo = InSync.of(stream.cache, f"plan adopt_only={adopt_only}")
    keys: dict[str, str] = {}
    known: dict[str, bytes | None] = {}
    remembered: list[ClientPlan] = []
    with make_engine(store_url).connect() as conn:
        if memo is not None:
            fingerprints = live_fingerprints(conn, [c.client_id for c in chosen]) or {}
            keys = memo.keys(chosen, {c.client_id: c for c in originals}, fingerprints, sources)
            known = memo.known(keys)
            found = memo.plans(known, chosen)
            if found is None:  # a body that does not decode: the cache is broken
                known = {}
            else:
                remembered = found
        rest = [c for c in chosen if c.client_id not in known]
        lives = read_live(conn, [c.client_id for c in rest])
    plans, unchanged = plan_clients(
        rest,
        lives,
        legacy_defaults=stream.settings.legacy_defaults,
        catalog=stream.catalog,
        adopt_only=adopt_only,
        paths=paths,
    )
    if memo is not None:
        changed = {p.client_id for p in plans}
        # Informational plans are remembered only in full (`paths`): `plan` replays them.
        remember = plans if paths else []
        memo.record(keys, [c.client_id for c in rest if c.client_id not in changed], remember)
    if remembered:
        plans = sorted([*plans, *remembered], key=lambda p: p.client_id)
    with_changes = {p.client_id for p in plans}
    violations = evaluate(
        stream.policies, {c.client_id: c for c in chosen if c.client_id in with_changes}, plans
    )
    log.debug(
        "plan batch: %d clients, %d with changes, %d unchanged by the memo, "
        "%d with informational changes by the memo",
        len(chosen),
        len(plans),
        len(known) - len(remembered),
        len(remembered),
    )
    return plans, unchanged + len(known) - len(remembered), violations, [], chosen


def drift(
    stream: DesiredStream,
    batch: list[ClientDesired],
    store_url: str,
    client_ids: Sequence[str],
    shard: str | None,
) -> tuple[list[ClientDrift], list[str]]:
    """`drift`: the drift class of each client of a batch, and the secret references that
    cannot be resolved (then nothing is classified). Clients found in sync before under the
    same desired key, live fingerprint and last run are in sync again (the memo, PostgreSQL,
    not with a history key: decrypting history is part of the comparison)."""
    from reconciler.apply.history import last_applied, last_runs  # drift's own: run history
    from reconciler.apply.sealing import history_key
    from reconciler.plan.drift import classify

    originals = select(batch, client_ids, shard)
    chosen, unresolved, sources = resolved(stream, originals)
    ids = [c.client_id for c in chosen]
    if not ids or unresolved:
        return [], unresolved
    memo = InSync.of(stream.cache, "drift") if history_key() is None else None
    keys: dict[str, str] = {}
    runs: dict[str, int] = {}
    known: Mapping[str, bytes | None] = {}
    with make_engine(store_url).connect() as conn:
        fingerprints = live_fingerprints(conn, ids) if memo is not None else None
        if memo is not None and fingerprints is not None:
            runs = last_runs(conn, ids)
            states = {cid: f"{fp}:{runs.get(cid)}" for cid, fp in fingerprints.items()}
            keys = memo.keys(chosen, {c.client_id: c for c in originals}, states, sources)
            known = memo.known(keys)
        rest = [cid for cid in ids if cid not in known]
        lives = read_live(conn, rest)
        lasts = last_applied(conn, rest, lives=lives)
    sensitive = sensitive_paths(stream.catalog)
    renames = rename_map(stream.catalog.values())
    log.debug("drift batch: %d clients, %d in sync by the memo", len(ids), len(known))
    found: list[ClientDrift] = []
    in_sync: list[str] = []
    for c in chosen:
        if c.client_id in known:
            found.append(_in_sync(c, runs[c.client_id]))
            continue
        result = classify(
            c,
            lives.get(c.client_id) or ClientLive(client_id=c.client_id),
            lasts.get(c.client_id),
            legacy_defaults=stream.settings.legacy_defaults,
            sensitive=sensitive,
            renames=renames,
        )
        found.append(result)
        if result.last_run is not None and result == _in_sync(c, result.last_run):
            in_sync.append(c.client_id)
    if memo is not None:
        memo.record(keys, in_sync)
    return found, []


def _in_sync(client: ClientDesired, last_run: int) -> ClientDrift:
    from reconciler.plan.drift import ClientDrift, DriftClass

    return ClientDrift(
        client_id=client.client_id,
        name=client.name,
        file=client.file,
        classes=frozenset({DriftClass.IN_SYNC}),
        last_run=last_run,
    )
