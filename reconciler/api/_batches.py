"""Work on one batch of resolved clients: the unit that fleet commands stream and, for large
trees, run in worker processes (issue 8). Functions here are module-level so they pickle."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from reconciler.apply.history import last_applied
from reconciler.desired.load import DesiredStream
from reconciler.live.engine import make_engine
from reconciler.live.state import read_live
from reconciler.model import ClientDesired, ClientLive
from reconciler.plan.build import plan_clients, sensitive_paths
from reconciler.plan.drift import ClientDrift, classify
from reconciler.plan.model import ClientPlan
from reconciler.plan.select import parse_shard

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


def count(stream: DesiredStream, batch: list[ClientDesired]) -> int:
    """`validate`: how many clients resolved."""
    return len(batch)


def wave_keys(stream: DesiredStream, batch: list[ClientDesired]) -> list[ClientDesired]:
    """`validate` with rollout waves: what wave selectors read of each client (id, name,
    profiles, labels), small enough to keep for the whole fleet."""
    return [
        ClientDesired(client_id=c.client_id, name=c.name, profiles=c.profiles, labels=c.labels)
        for c in batch
    ]


def plan(
    stream: DesiredStream,
    batch: list[ClientDesired],
    store_url: str,
    client_ids: Sequence[str],
    shard: str | None,
) -> tuple[list[ClientPlan], int]:
    """`plan`: the plans with changes of a batch, and how many clients had none."""
    chosen = select(batch, client_ids, shard)
    if not chosen:
        return [], 0
    with make_engine(store_url).connect() as conn:
        lives = read_live(conn, [c.client_id for c in chosen])
    plans, unchanged = plan_clients(
        chosen,
        lives,
        legacy_defaults=stream.settings.legacy_defaults,
        catalog=stream.catalog,
    )
    log.debug("plan batch: %d clients, %d with changes", len(chosen), len(plans))
    return plans, unchanged


def drift(
    stream: DesiredStream,
    batch: list[ClientDesired],
    store_url: str,
    client_ids: Sequence[str],
    shard: str | None,
) -> list[ClientDrift]:
    """`drift`: the drift class of each client of a batch."""
    chosen = select(batch, client_ids, shard)
    ids = [c.client_id for c in chosen]
    if not ids:
        return []
    with make_engine(store_url).connect() as conn:
        lives = read_live(conn, ids)
        lasts = last_applied(conn, ids)
    sensitive = sensitive_paths(stream.catalog)
    log.debug("drift batch: %d clients", len(ids))
    return [
        classify(
            c,
            lives.get(c.client_id) or ClientLive(client_id=c.client_id),
            lasts.get(c.client_id),
            legacy_defaults=stream.settings.legacy_defaults,
            sensitive=sensitive,
        )
        for c in chosen
    ]
