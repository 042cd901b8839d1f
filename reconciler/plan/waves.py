"""Which clients each rollout wave takes: pure, deterministic, sticky (issue 14).

A client belongs to the first wave that selects it. `percent` compares a sticky bucket of the
client id (sha256, in [0, 100)) with the percentage, so the same clients are chosen on every
run and adding clients never moves the others; `max_clients` keeps the lowest buckets.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from reconciler.errors import Location, Problem
from reconciler.model import JSON, ClientDesired
from reconciler.rollout_model import Gate, HealthCheck, Selector, Wave

_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\['([^']*)'\]")


def parse_json_path(path: str) -> tuple[str | int, ...] | None:
    """`$.a.b[0]['c d']` as keys and indexes; None when it is not such a simple path."""
    if not path.startswith("$"):
        return None
    parts: list[str | int] = []
    pos = 1
    while pos < len(path):
        match = _PATH_PART.match(path, pos)
        if match is None:
            return None
        name, index, quoted = match.groups()
        parts.append(int(index) if index is not None else name if name is not None else quoted)
        pos = match.end()
    return tuple(parts)


def bucket(client_id: str) -> float:
    """The client's sticky bucket in [0, 100), in steps of 0.01."""
    digest = hashlib.sha256(client_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000 / 100


def matches(select: Selector, client: ClientDesired) -> bool:
    """Whether every criterion of `select` holds for `client` (max_clients aside)."""
    if select.profiles and not set(select.profiles) & set(client.profiles):
        return False
    if select.clients and not any(
        fnmatchcase(client.client_id, g) or (client.name and fnmatchcase(client.name, g))
        for g in select.clients
    ):
        return False
    for key, glob in select.labels.items():
        value = client.labels.get(key)
        if value is None or not fnmatchcase(value, glob):
            return False
    return select.percent is None or bucket(client.client_id) < select.percent


@dataclass(frozen=True, slots=True, kw_only=True)
class Assignment:
    """Client ids per wave (in wave order), the clients no wave selects, and what is wrong."""

    waves: tuple[tuple[str, ...], ...]
    unselected: tuple[str, ...]
    problems: tuple[Problem, ...] = ()


def assign(waves: Sequence[Wave], clients: Iterable[ClientDesired]) -> Assignment:
    """Each client in the first wave that selects it; a wave that selects nothing, or only
    clients earlier waves took (it can never get any), is a problem at its `select`."""
    pool = list(clients)
    remaining = sorted(pool, key=lambda c: (bucket(c.client_id), c.client_id))
    chosen: list[tuple[str, ...]] = []
    problems: list[Problem] = []
    for i, wave in enumerate(waves):
        matching = [c for c in remaining if matches(wave.select, c)]
        if wave.select.max_clients is not None:
            matching = matching[: wave.select.max_clients]
        taken = {c.client_id for c in matching}
        remaining = [c for c in remaining if c.client_id not in taken]
        chosen.append(tuple(sorted(taken)))
        if taken:
            continue
        earlier = [w.name for w in waves[:i]]
        if earlier and any(matches(wave.select, c) for c in clients_of(pool, chosen)):
            reason = (
                f"wave {wave.name!r} overlaps earlier waves ({', '.join(earlier)}): every client "
                "it selects belongs to an earlier wave, so it can never select any"
            )
        else:
            reason = f"wave {wave.name!r} selects no client"
        problems.append(_problem(wave, i, reason))
    return Assignment(
        waves=tuple(chosen),
        unselected=tuple(sorted(c.client_id for c in remaining)),
        problems=tuple(problems),
    )


def clients_of(
    clients: Iterable[ClientDesired], chosen: Sequence[Sequence[str]]
) -> list[ClientDesired]:
    taken = {cid for ids in chosen for cid in ids}
    return [c for c in clients if c.client_id in taken]


def _problem(wave: Wave, index: int, reason: str) -> Problem:
    file, line, column = _split(wave.where)
    return Problem(Location(file, line, column), f"$.rollout.waves[{index}].select", reason)


def _split(where: str) -> tuple[str, int, int]:
    parts = where.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
        return parts[0], int(parts[1]), int(parts[2])
    return where or "reconciler.yaml", 0, 0


def check_problem(check: HealthCheck, index: int, reason: str) -> Problem:
    """A problem at a gate check of wave `index` (the command not found, say)."""
    file, line, column = _split(check.where)
    return Problem(Location(file, line, column), f"$.rollout.waves[{index}].gate", reason)


# --- stored form: a rollout keeps the waves it was started with -------------------------------


def wave_to_json(wave: Wave) -> dict[str, JSON]:
    sel, gate = wave.select, wave.gate
    return {
        "name": wave.name,
        "select": {
            "profiles": list(sel.profiles),
            "clients": list(sel.clients),
            "labels": dict(sel.labels),
            "percent": sel.percent,
            "max_clients": sel.max_clients,
        },
        "bake_seconds": wave.bake_seconds,
        "gate": {
            "checks": [c.to_json() for c in gate.checks],
            "max_failed_clients": gate.max_failed_clients,
            "concurrency": gate.concurrency,
            "retries": gate.retries,
            "retry_wait_seconds": gate.retry_wait_seconds,
        },
        "on_failure": wave.on_failure,
        "where": wave.where,
    }


def wave_from_json(data: Mapping[str, JSON]) -> Wave:
    sel, gate = data["select"], data["gate"]
    checks = tuple(
        HealthCheck(
            kind=c["kind"],
            url=c.get("url", ""),
            expect_status=int(c.get("expect_status", 200)),
            json_path=c.get("json_path"),
            equals=c.get("equals", True),
            argv=tuple(c.get("argv", ())),
            timeout_seconds=float(c["timeout_seconds"]),
        )
        for c in gate["checks"]
    )
    return Wave(
        name=data["name"],
        select=Selector(
            profiles=tuple(sel["profiles"]),
            clients=tuple(sel["clients"]),
            labels=dict(sel["labels"]),
            percent=sel["percent"],
            max_clients=sel["max_clients"],
        ),
        bake_seconds=float(data["bake_seconds"]),
        gate=Gate(
            checks=checks,
            max_failed_clients=gate["max_failed_clients"],
            concurrency=int(gate["concurrency"]),
            retries=int(gate["retries"]),
            retry_wait_seconds=float(gate["retry_wait_seconds"]),
        ),
        on_failure=data["on_failure"],
        where=data.get("where", ""),
    )
