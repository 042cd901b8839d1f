"""reconciler.yaml `rollout:`: waves parsed into frozen dataclasses, checked (issue 14).

The schema has checked types and ranges; this adds what it cannot say: unique wave names,
exactly one kind per check, a parsable json_path, and (once profiles are known) no unknown
profile in a selector. Checks that need the clients (a wave selecting nothing) run when a
rollout is planned (plan/waves.py).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from reconciler.desired.yamlsafe import JsonPath, YamlFile
from reconciler.errors import Problem
from reconciler.plan.waves import parse_json_path
from reconciler.rollout_model import Gate, HealthCheck, Selector, Wave


def build_waves(yf: YamlFile, data: dict[str, Any]) -> tuple[tuple[Wave, ...], list[Problem]]:
    """The waves of a schema-valid `rollout` block, and the problems the schema cannot find."""
    waves: list[Wave] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(data.get("waves", [])):
        base: JsonPath = ("rollout", "waves", i)
        name = raw["name"]
        if name in seen:
            reason = (
                f"wave name {name!r} is also used by wave {seen[name] + 1}; names must be unique"
            )
            problems.append(yf.problem((*base, "name"), reason))
        seen.setdefault(name, i)
        checks = []
        gate = raw.get("gate", {})
        for j, check in enumerate(gate.get("checks", [])):
            built = _check(yf, (*base, "gate", "checks", j), check, problems)
            if built is not None:
                checks.append(built)
        sel = raw["select"]
        waves.append(
            Wave(
                name=name,
                select=Selector(
                    profiles=tuple(sel.get("profiles", ())),
                    clients=tuple(sel.get("clients", ())),
                    labels=dict(sel.get("labels", {})),
                    percent=None if sel.get("percent") is None else float(sel["percent"]),
                    max_clients=sel.get("max_clients"),
                ),
                bake_seconds=float(raw.get("bake_seconds", 0)),
                gate=Gate(
                    checks=tuple(checks),
                    max_failed_clients=gate.get("max_failed_clients", 0),
                    concurrency=int(gate.get("concurrency", 8)),
                    retries=int(gate.get("retries", 2)),
                    retry_wait_seconds=float(gate.get("retry_wait_seconds", 1.0)),
                ),
                on_failure=raw.get("on_failure", "revert_wave"),
                where=str(yf.locate((*base, "select"))),
            )
        )
    return tuple(waves), problems


def _check(
    yf: YamlFile, at: JsonPath, check: dict[str, Any], problems: list[Problem]
) -> HealthCheck | None:
    kinds = [k for k in ("http", "command") if k in check]
    if len(kinds) != 1:
        problems.append(yf.problem(at, "a check needs exactly one of `http` or `command`"))
        return None
    where = str(yf.locate((*at, kinds[0])))
    if kinds[0] == "command":
        return HealthCheck(
            kind="command",
            argv=tuple(check["command"]),
            timeout_seconds=float(check.get("timeout_seconds", 30)),
            where=where,
        )
    http = check["http"]
    json_path = http.get("json_path")
    if json_path is not None and parse_json_path(json_path) is None:
        reason = f"json_path {json_path!r} is not a simple path like $.ok or $.checks[0].status"
        problems.append(yf.problem((*at, "http", "json_path"), reason))
    if "timeout_seconds" in check:
        reason = "timeout_seconds of an http check goes inside `http:`"
        problems.append(yf.problem((*at, "timeout_seconds"), reason, key=True))
    return HealthCheck(
        kind="http",
        url=http["url"],
        expect_status=int(http.get("expect_status", 200)),
        json_path=json_path,
        equals=http.get("equals", True),
        timeout_seconds=float(http.get("timeout_seconds", 5)),
        where=where,
    )


def check_wave_profiles(
    yf: YamlFile | None, waves: tuple[Wave, ...], profiles: Collection[str]
) -> list[Problem]:
    """A selector naming a profile that has no profiles/<name>.yaml."""
    if yf is None:
        return []
    problems = []
    for i, wave in enumerate(waves):
        for j, name in enumerate(wave.select.profiles):
            if name not in profiles:
                reason = f"unknown profile {name!r} (no profiles/{name}.yaml)"
                problems.append(
                    yf.problem(("rollout", "waves", i, "select", "profiles", j), reason)
                )
    return problems
