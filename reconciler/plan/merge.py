"""Shard results and their merge (issue 17): each shard of `plan`, `apply` or `drift` writes
its JSON result with `--results FILE`; `merge-results` puts the fleet back together, as if one
process had run it. Pure: the callers read and write the files."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.errors import Location, ReconcilerError
from reconciler.model import JSON, OUTPUT_FORMAT_VERSION
from reconciler.plan.changed import ChangedSince, DeletedClient
from reconciler.plan.drift import PRIORITY, ClientDrift, DriftReport
from reconciler.plan.model import ABSENT, Change, ChangeKind, ClientPlan, Plan
from reconciler.plan.select import Shard, parse_shard
from reconciler.plan.violation import Violation
from reconciler.results import ApplyReport, ClientResult

KIND = "shard-result"
RESULT_KINDS: tuple[str, ...] = ("plan", "drift", "apply")
Result = Plan | DriftReport | ApplyReport
_HINT = "write each shard's result with `--results FILE` of the same reconciler version"


def result_kind(result: Result) -> str:
    if isinstance(result, Plan):
        return "plan"
    return "drift" if isinstance(result, DriftReport) else "apply"


def shard_result_json(
    result: Result, *, shard: str | None, store: str, desired_commit: str | None
) -> dict[str, JSON]:
    """The `--results FILE` document: the result's own JSON (what `--format json` prints) with
    the shard K/N, desired commit and store it was computed from."""
    parsed = parse_shard(shard)
    return {
        "format_version": OUTPUT_FORMAT_VERSION,
        "kind": KIND,
        "result_kind": result_kind(result),
        "shard": None if parsed is None else {"index": parsed.index, "count": parsed.count},
        "desired_commit": desired_commit,
        "store": store,
        "result": result.to_json(),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class ShardResult:
    """One shard's `--results` file, checked."""

    name: str  # the file it was read from
    kind: str  # plan | drift | apply
    shard: Shard  # 1/1 for an unsharded run
    desired_commit: str | None
    store: str
    result: Mapping[str, Any]

    @property
    def label(self) -> str:
        return f"{self.shard.index}/{self.shard.count}"


def read_shard_result(data: Any, name: str) -> ShardResult:
    """A parsed `--results` document, or a ReconcilerError naming the file."""
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ReconcilerError(f"{name}: not a shard result (kind is not {KIND!r})", hint=_HINT)
    if data.get("format_version") != OUTPUT_FORMAT_VERSION:
        raise ReconcilerError(
            f"{name}: shard result format_version {data.get('format_version')!r} is not "
            f"supported (this reconciler reads {OUTPUT_FORMAT_VERSION})",
            hint=_HINT,
        )
    kind, shard, result = data.get("result_kind"), data.get("shard"), data.get("result")
    if kind not in RESULT_KINDS or not isinstance(result, dict):
        raise ReconcilerError(f"{name}: shard result of unknown kind {kind!r}", hint=_HINT)
    try:
        parsed = Shard(1, 1) if shard is None else Shard(int(shard["index"]), int(shard["count"]))
    except (TypeError, KeyError, ValueError):
        raise ReconcilerError(f"{name}: malformed shard {shard!r}", hint=_HINT) from None
    if not 1 <= parsed.index <= parsed.count:
        raise ReconcilerError(f"{name}: malformed shard {shard!r}", hint=_HINT)
    return ShardResult(
        name=name,
        kind=str(kind),
        shard=parsed,
        desired_commit=data.get("desired_commit"),
        store=str(data.get("store", "")),
        result=result,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MergedResults:
    """The fleet's result put together from its shards, for every output format."""

    result: Result
    shards: int  # N
    files: tuple[str, ...]  # in shard order
    run_ids: tuple[int, ...] = ()  # apply: each shard's recorded run

    def to_json(self) -> dict[str, JSON]:
        data = self.result.to_json()
        data["merged"] = {
            "shards": self.shards,
            "files": list(self.files),
            "run_ids": list(self.run_ids),
        }
        return data


def merge(results: Sequence[ShardResult]) -> MergedResults:
    """One result from every shard's, refusing results that do not belong together."""
    if not results:
        raise ReconcilerError("no shard results to merge", hint="give every shard's --results FILE")
    _same(results, "kind", lambda r: r.kind, "kinds")
    _same(results, "desired_commit", lambda r: r.desired_commit or "(no commit)", "desired commits")
    _same(results, "store", lambda r: r.store, "stores")
    _same(results, "shard count", lambda r: str(r.shard.count), "shard counts")
    ordered = _complete(results)
    kind, files = ordered[0].kind, tuple(r.name for r in ordered)
    count = ordered[0].shard.count
    if kind == "plan":
        return MergedResults(result=_merge_plans(ordered), shards=count, files=files)
    if kind == "drift":
        return MergedResults(result=_merge_drift(ordered), shards=count, files=files)
    runs = tuple(int(r.result["run_id"]) for r in ordered if r.result.get("run_id") is not None)
    return MergedResults(result=_merge_applies(ordered), shards=count, files=files, run_ids=runs)


def _same(
    results: Sequence[ShardResult], what: str, key: Callable[[ShardResult], str], plural: str
) -> None:
    """Refuse results that differ in `key`, naming the files of each value."""
    groups: dict[str, list[str]] = {}
    for r in results:
        groups.setdefault(key(r), []).append(r.name)
    if len(groups) > 1:
        parts = "; ".join(f"{', '.join(names)}: {value}" for value, names in groups.items())
        raise ReconcilerError(
            f"cannot merge results of different {plural}: {parts}",
            hint=f"merge only the shards of one run (same {what}); rerun the odd shards",
        )


def _complete(results: Sequence[ShardResult]) -> list[ShardResult]:
    """The results in shard order, each shard once and none missing."""
    by_index: dict[int, ShardResult] = {}
    for r in results:
        if r.shard.index in by_index:
            raise ReconcilerError(
                f"shard {r.label} given twice: {by_index[r.shard.index].name} and {r.name}",
                hint="give each shard's result file once",
            )
        by_index[r.shard.index] = r
    count = results[0].shard.count
    missing = [k for k in range(1, count + 1) if k not in by_index]
    if missing:
        have = ", ".join(f"{k}/{count} from {by_index[k].name}" for k in sorted(by_index))
        raise ReconcilerError(
            ", ".join(f"shard {k}/{count} missing" for k in missing) + f" (have {have})",
            hint="merge only when every shard has finished; rerun the missing shard(s) "
            "with the same desired commit",
        )
    return [by_index[k] for k in range(1, count + 1)]


# --- plan -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShardClientPlan(ClientPlan):
    """A client plan read back from a shard: its changes fingerprint is the one the shard
    computed (masked sensitive values cannot be hashed again)."""

    fingerprint: str = ""

    def changes_fingerprint(self) -> str:
        return self.fingerprint

    def _hash_changes(self, hashed: list[JSON], plain: bool) -> str:
        return self.fingerprint


def _change(client_id: str, data: Mapping[str, Any]) -> Change:
    op = data["op"]
    return Change(
        client_id=client_id,
        module=data["module"],
        kind=ChangeKind(data["kind"]),
        path=tuple(data["path"]),
        old=ABSENT if op == "add" else data["old"],
        new=ABSENT if op == "remove" else data["new"],
        stores=frozenset(data["stores"]),
        informational=bool(data["informational"]),
        sensitive=bool(data["sensitive"]),
    )


def _client_plan(data: Mapping[str, Any]) -> ClientPlan:
    cid = str(data["client_id"])
    return _ShardClientPlan(
        client_id=cid,
        name=data["name"],
        file=data["file"],
        strategy=data["strategy"],
        live_fingerprint=data["live_fingerprint"],
        changes=tuple(_change(cid, c) for c in data["changes"]),
        fingerprint=data["changes_fingerprint"],
    )


def _violation(data: Mapping[str, Any]) -> Violation:
    return Violation(
        client_id=data["client_id"],
        client_name=data["client_name"],
        policy=data["policy"],
        effect=data["effect"],
        message=data["message"],
        module=data["module"],
        change=data["change"],
        location=Location(data["file"], data["line"], data["column"]),
    )


def _changed_since(data: Mapping[str, Any]) -> ChangedSince:
    return ChangedSince(
        rev=data["rev"],
        commit=data["commit"],
        head=data["head"],
        paths=tuple(data["paths"]),
        compared=data["clients_compared"],
        changed=tuple(data["clients_changed"]),
        deleted=tuple(
            DeletedClient(
                client_id=d["client_id"], name=d["name"], file=d["file"], strategy=d["strategy"]
            )
            for d in data["deleted"]
        ),
        warnings=tuple(data["warnings"]),
    )


def _merge_plans(results: Sequence[ShardResult]) -> Plan:
    _same(
        results, "changed_since", lambda r: repr(r.result.get("changed_since")), "--changed-since"
    )
    _same(results, "adopt_only", lambda r: str(r.result.get("adopt_only", False)), "--adopt-only")
    try:
        first = results[0].result
        since = first.get("changed_since")
        return Plan(
            clients=tuple(
                sorted(
                    (_client_plan(c) for r in results for c in r.result["clients"]),
                    key=lambda p: p.client_id,
                )
            ),
            unchanged=sum(int(r.result["summary"]["clients_unchanged"]) for r in results),
            store=first["store"],
            desired_commit=first["desired_commit"],
            desired_root=first["desired_root"],
            changed_since=None if since is None else _changed_since(since),
            adopt_only=bool(first.get("adopt_only", False)),
            violations=tuple(
                sorted(
                    _violation(v) for r in results for v in r.result.get("policy_violations", [])
                )
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _malformed(results, exc) from None


# --- drift and apply --------------------------------------------------------------------------


def _merge_drift(results: Sequence[ShardResult]) -> DriftReport:
    classes = {str(c): c for c in PRIORITY}
    try:
        clients = [
            ClientDrift(
                client_id=c["client_id"],
                name=c["name"],
                file=c["file"],
                classes=frozenset(classes[k] for k in c["classes"]),
                last_run=c["last_run"],
                drifted_paths=tuple(c["drifted_paths"]),
                pending_changes=int(c["pending_changes"]),
            )
            for r in results
            for c in r.result["clients"]
        ]
        first = results[0].result
        return DriftReport(
            clients=tuple(sorted(clients, key=lambda c: c.client_id)),
            store=first["store"],
            desired_commit=first["desired_commit"],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _malformed(results, exc) from None


def _merge_applies(results: Sequence[ShardResult]) -> ApplyReport:
    try:
        clients = [
            ClientResult(client_id=c["client_id"], outcome=c["outcome"], message=c["message"])
            for r in results
            for c in r.result["clients"]
        ]
        summary: dict[str, int] = {}
        for r in results:
            for key, value in r.result["plan"].items():
                summary[key] = summary.get(key, 0) + int(value)
        kinds = {str(r.result["kind"]) for r in results}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _malformed(results, exc) from None
    return ApplyReport(
        kind=min(kinds),
        run_id=None,
        results=tuple(sorted(clients, key=lambda c: c.client_id)),
        plan_summary=summary,
    )


def _malformed(results: Sequence[ShardResult], exc: Exception) -> ReconcilerError:
    names = ", ".join(r.name for r in results)
    return ReconcilerError(f"malformed shard result among {names}: {exc!r}", hint=_HINT)


__all__ = [
    "KIND",
    "MergedResults",
    "ShardResult",
    "merge",
    "read_shard_result",
    "shard_result_json",
]
