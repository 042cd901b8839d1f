"""Work on one batch of resolved clients: the unit that fleet commands stream and, for large
trees, run in worker processes (issue 8). Functions here are module-level so they pickle."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from reconciler.api._memo import InSync
from reconciler.desired.load import DesiredStream
from reconciler.desired.parallel import Staged
from reconciler.desired.secrets import SecretResolver, directory_of
from reconciler.desired.shown import ShownPaths
from reconciler.live.engine import make_engine, parse_url, snapshot
from reconciler.live.fingerprints import live_fingerprints
from reconciler.live.state import read_live
from reconciler.model import ClientDesired, ClientLive, rename_map
from reconciler.plan.build import plan_clients, sensitive_paths
from reconciler.plan.model import ClientPlan
from reconciler.plan.policy import evaluate
from reconciler.plan.select import parse_shard
from reconciler.plan.violation import Violation

if TYPE_CHECKING:
    from reconciler.plan.drift import ClientDrift, DriftClass

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


@dataclass(slots=True)
class Chosen:
    """A batch's clients as a plan takes them: those `--client` and `--shard` keep as the
    tree has them (`originals`), resolved (`clients`), the references that cannot be resolved
    and what each resolved client's values were read from (see `resolved`)."""

    originals: list[ClientDesired]
    clients: list[ClientDesired]
    unresolved: list[str]
    sources: Mapping[str, str | None]


@dataclass(slots=True)
class Fetched:
    """What a plan of a batch reads: the memo's keys of its clients, the clients the memo
    answers (`known`, with what it remembered: "" unchanged, or `remembered` plans), and the
    live state of the others."""

    memo: InSync | None = None  # the plan memo the answers came from, which `_finish` fills
    keys: dict[str, str] = field(default_factory=dict)
    known: dict[str, str] = field(default_factory=dict)
    remembered: list[ClientPlan] = field(default_factory=list)
    lives: dict[str, ClientLive] = field(default_factory=dict)


def _prepare(
    stream: DesiredStream,
    batch: list[ClientDesired],
    _url: str,
    client_ids: Sequence[str],
    shard: str | None,
    *_: object,
) -> Chosen:
    originals = select(batch, client_ids, shard)
    clients, unresolved, sources = resolved(stream, originals)
    return Chosen(originals, clients, unresolved, sources)


def _fetch(
    stream: DesiredStream,
    chosen: Chosen,
    store_url: str,
    _ids: Sequence[str],
    _shard: str | None,
    adopt_only: bool,
    *_: object,
) -> Fetched:
    """The memo's answers and the live state of the rest, read in one snapshot (REPEATABLE
    READ on PostgreSQL: no write lands between a client's fingerprint and its rows, so what
    is remembered is what was planned). Runs in `serial_map`'s helper thread."""
    fetched = Fetched()
    if not chosen.clients or chosen.unresolved:
        return fetched
    fetched.memo = memo = InSync.of(stream.cache, f"plan adopt_only={adopt_only}", store_url)
    with snapshot(make_engine(store_url)) as conn:
        if memo is not None:
            ids = [c.client_id for c in chosen.clients]
            fingerprints = live_fingerprints(conn, ids) or {}
            originals = {c.client_id: c for c in chosen.originals}
            fetched.keys = memo.keys(chosen.clients, originals, fingerprints, chosen.sources)
            known = memo.found(fetched.keys)
            found = memo.plans(known, chosen.clients)
            if found is not None:  # else a body that does not decode: the cache is broken
                fetched.known, fetched.remembered = known, found
        rest = [c.client_id for c in chosen.clients if c.client_id not in fetched.known]
        fetched.lives = read_live(conn, rest)
    return fetched


def _finish(
    stream: DesiredStream,
    chosen: Chosen,
    fetched: Fetched,
    _url: str,
    _ids: Sequence[str],
    _shard: str | None,
    adopt_only: bool,
    *,
    paths: bool = True,
) -> tuple[list[ClientPlan], int, list[Violation], list[str], list[ClientDesired]]:
    """`plan`: the plans with changes of a batch, how many clients had none, the policy
    violations of those changes (issue 16), the secret references that cannot be resolved
    (then nothing is planned, issue 18) and the resolved clients."""
    if not chosen.clients or chosen.unresolved:
        return [], 0, [], chosen.unresolved, []
    known = fetched.known
    rest = [c for c in chosen.clients if c.client_id not in known]
    plans, unchanged = plan_clients(
        rest,
        fetched.lives,
        legacy_defaults=stream.settings.legacy_defaults,
        catalog=stream.catalog,
        adopt_only=adopt_only,
        paths=paths,
    )
    memo = fetched.memo
    if memo is not None and fetched.keys:
        changed = {p.client_id for p in plans}
        # Informational plans are remembered only in full (`paths`): `plan` replays them.
        remember = plans if paths else []
        memo.record(
            fetched.keys, [c.client_id for c in rest if c.client_id not in changed], remember
        )
    remembered = fetched.remembered
    if remembered:
        plans = sorted([*plans, *remembered], key=lambda p: p.client_id)
    with_changes = {p.client_id for p in plans}
    violations = evaluate(
        stream.policies,
        {c.client_id: c for c in chosen.clients if c.client_id in with_changes},
        plans,
    )
    log.debug(
        "plan batch: %d clients, %d with changes, %d unchanged by the memo, "
        "%d with informational changes by the memo",
        len(chosen.clients),
        len(plans),
        len(known) - len(remembered),
        len(remembered),
    )
    return plans, unchanged + len(known) - len(remembered), violations, [], chosen.clients


def _plan_result(
    stream: DesiredStream, chosen: Chosen, fetched: Fetched, *args: Any
) -> tuple[list[ClientPlan], int, list[Violation], list[str]]:
    plans, unchanged, violations, unresolved, _ = _finish(stream, chosen, fetched, *args)
    return plans, unchanged, violations, unresolved


def _counted_result(
    stream: DesiredStream, chosen: Chosen, fetched: Fetched, *args: Any
) -> tuple[list[ClientPlan], int, list[Violation], list[str], dict[str, ClientDesired]]:
    """`args`: `plan`'s (store_url, client_ids, shard, adopt_only), then show_all, shown."""
    *planning, show_all, shown = args
    plans, unchanged, violations, unresolved, clients = _finish(
        stream, chosen, fetched, *planning, paths=not stream.policies
    )
    kept = plans if len(plans) <= show_all else plans[:shown]  # plans are in client id order
    by_id = {c.client_id: c for c in clients}
    return plans, unchanged, violations, unresolved, {p.client_id: by_id[p.client_id] for p in kept}


def _on_postgresql(args: tuple[Any, ...]) -> bool:
    """Whether the store (a task's first argument) is PostgreSQL: only there do a batch's
    reads overlap the previous batch's planning (SQLite's reads are this process's work)."""
    return parse_url(args[0]).get_backend_name() == "postgresql"


# `plan`: (stream, batch, store_url, client_ids, shard, adopt_only) -> the plans with changes
# of a batch, how many clients had none, the policy violations of those changes (issue 16),
# and the secret references that cannot be resolved (then nothing is planned, issue 18).
plan = Staged("plan", _prepare, _fetch, _plan_result, _on_postgresql)

# A streamed apply's pass 1, (..., adopt_only, show_all, shown): as `plan`, but where no
# policy reads the changes each module's settings change is one change (plan_client's
# `paths`), and with the resolved desired state of the clients a printed plan may show (all
# with changes when the batch has at most `show_all` of them, else the first `shown` by id),
# to plan those in full.
plan_counted = Staged("plan_counted", _prepare, _fetch, _counted_result, _on_postgresql)


@dataclass(slots=True)
class DriftFetched:
    """What drift reads of a batch: the memo's keys, each client's last run, the clients the
    memo answers (classified again from what it remembered), and for the others their live
    state and last applied snapshot."""

    memo: InSync | None = None  # the drift memo, which `_drift_finish` fills
    keys: dict[str, str] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    known: dict[str, ClientDrift] = field(default_factory=dict)
    lives: dict[str, ClientLive] = field(default_factory=dict)
    lasts: dict[str, tuple[int, ClientLive]] = field(default_factory=dict)


def _drift_fetch(
    stream: DesiredStream,
    chosen: Chosen,
    store_url: str,
    _ids: Sequence[str],
    _shard: str | None,
    shown: ShownPaths,
) -> DriftFetched:
    """The memo's answers, and the live state and last snapshot of the rest, in one snapshot
    of the stores (see `_fetch`). Runs in `serial_map`'s helper thread."""
    from reconciler.apply.history import last_applied, last_runs  # drift's own: run history
    from reconciler.apply.sealing import history_key

    fetched = DriftFetched()
    ids = [c.client_id for c in chosen.clients]
    if not ids or chosen.unresolved:
        return fetched
    # No drift memo with a history key: decrypting history is part of the comparison.
    memo = InSync.of(stream.cache, "drift", store_url) if history_key() is None else None
    fetched.memo = memo
    with snapshot(make_engine(store_url)) as conn:
        fingerprints = live_fingerprints(conn, ids) if memo is not None else None
        if memo is not None and fingerprints is not None:
            fetched.runs = runs = last_runs(conn, ids)
            states = {cid: f"{fp}:{runs.get(cid)}" for cid, fp in fingerprints.items()}
            originals = {c.client_id: c for c in chosen.originals}
            fetched.keys = memo.keys(chosen.clients, originals, states, chosen.sources)
            values = memo.found(fetched.keys)
            read = _Remembered()
            for c in chosen.clients:
                value = values.get(c.client_id)
                again = None if value is None else read(c, runs.get(c.client_id), value, shown)
                if again is not None:
                    fetched.known[c.client_id] = again
        rest = [cid for cid in ids if cid not in fetched.known]
        if rest:
            fetched.lives = read_live(conn, rest)
            fetched.lasts = last_applied(conn, rest, lives=fetched.lives)
    return fetched


def _drift_finish(
    stream: DesiredStream,
    chosen: Chosen,
    fetched: DriftFetched,
    _url: str,
    _ids: Sequence[str],
    _shard: str | None,
    shown: ShownPaths,
) -> tuple[list[ClientDrift], list[str]]:
    from reconciler.plan.drift import DriftClass, classify

    if not chosen.clients or chosen.unresolved:
        return [], chosen.unresolved
    known = fetched.known
    log.debug("drift batch: %d clients, %d answered by the memo", len(chosen.clients), len(known))
    if len(known) == len(chosen.clients):
        return [known[c.client_id] for c in chosen.clients], []
    sensitive = sensitive_paths(stream.catalog)
    renames = rename_map(stream.catalog.values())
    results: list[ClientDrift] = []
    remembered: dict[str, str] = {}
    check = _Remembered()
    for c in chosen.clients:
        if c.client_id in known:
            results.append(known[c.client_id])
            continue
        result = classify(
            c,
            fetched.lives.get(c.client_id) or ClientLive(client_id=c.client_id),
            fetched.lasts.get(c.client_id),
            legacy_defaults=stream.settings.legacy_defaults,
            sensitive=sensitive,
            renames=renames,
        )
        results.append(replace(result, file=shown(result.file)) if shown.prefix else result)
        if c.client_id in fetched.keys and DriftClass.DRIFTED not in result.classes:
            value = f"{','.join(sorted(result.classes))}:{result.pending_changes}"
            last_run = fetched.runs.get(c.client_id)
            if check(c, last_run, value, None) == result:  # reads back exactly
                remembered[c.client_id] = value
    if fetched.memo is not None:
        fetched.memo.remember(fetched.keys, remembered)
    return results, []


# `drift`: (stream, batch, store_url, client_ids, shard, shown) -> the drift class of each
# client of a batch (files as `shown`), and the secret references that cannot be resolved
# (then nothing is classified). A client classified before under the same desired key, live
# fingerprint and last run (and secret file stamps) has the same classes and pending count
# again, unless it was drifted (the memo, PostgreSQL, not with a history key).
drift = Staged("drift", _prepare, _drift_fetch, _drift_finish, _on_postgresql)


class _Remembered:
    """What the drift memo keeps of a classification that is not drifted (so it has no drift
    details) is its classes and pending count, e.g. `never_applied:0`, `pending:3`; this
    reads such a value back into the classification (each distinct value parsed once)."""

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[frozenset[DriftClass], int] | None] = {}

    def __call__(
        self, client: ClientDesired, last_run: int | None, value: str, shown: ShownPaths | None
    ) -> ClientDrift | None:
        """The classification `value` stands for; None for a value that does not read back
        (then the client is classified)."""
        from reconciler.plan.drift import ClientDrift

        if value not in self._parsed:
            self._parsed[value] = _parse(value)
        parsed = self._parsed[value]
        if parsed is None:
            return None
        return ClientDrift(
            client_id=client.client_id,
            name=client.name,
            file=client.file if shown is None else shown(client.file),
            classes=parsed[0],
            last_run=last_run,
            pending_changes=parsed[1],
        )


def _parse(value: str) -> tuple[frozenset[DriftClass], int] | None:
    from reconciler.plan.drift import DriftClass

    names, _, pending = value.rpartition(":")
    try:
        classes = frozenset(DriftClass(c) for c in names.split(","))
        count = int(pending)
    except ValueError:
        return None
    return None if DriftClass.DRIFTED in classes else (classes, count)
