"""A recorded rollout read back as a RolloutReport: its row, linked runs and gate results."""

from __future__ import annotations

from sqlalchemy import Connection

from reconciler.live.rollouts import gate_rows, get_rollout, rollout_runs
from reconciler.rollout_results import GateResult, RolloutReport, WaveStatus


def read_report(conn: Connection, rollout_id: int) -> RolloutReport:
    """The rollout `rollout_id` (it must exist) with each wave's runs and latest gate round."""
    row = get_rollout(conn, rollout_id)
    assert row is not None
    runs = rollout_runs(conn, rollout_id)
    gates = [
        GateResult(
            wave=g.wave,
            attempt=g.attempt,
            round=g.round,
            client_id=g.client_id,
            check=g.check_name,
            ok=bool(g.ok),
            error=g.error,
            attempts=g.attempts,
            checked_at=g.checked_at,
        )
        for g in gate_rows(conn, rollout_id)
    ]
    waves = []
    for i, wave in enumerate(row.waves):
        mine = [g for g in gates if g.wave == i]
        latest = max(((g.attempt, g.round) for g in mine), default=None)
        waves.append(
            WaveStatus(
                index=i,
                name=wave["name"],
                state=wave["state"],
                clients=tuple(wave["clients"]),
                attempt=int(wave.get("attempt", 0)),
                config={
                    k: v
                    for k, v in wave.items()
                    if k in ("select", "bake_seconds", "gate", "on_failure")
                },
                apply_runs=tuple(r.run_id for r in runs if r.wave == i and r.purpose == "apply"),
                revert_runs=tuple(r.run_id for r in runs if r.wave == i and r.purpose == "revert"),
                note=wave.get("note", ""),
                gate=tuple(g for g in mine if (g.attempt, g.round) == latest),
            )
        )
    return RolloutReport(
        id=row.id,
        state=row.state,
        created_at=row.created_at,
        updated_at=row.updated_at,
        finished_at=row.finished_at,
        actor=row.actor,
        reason=row.reason,
        desired_commit=row.desired_commit,
        store=row.store,
        message=row.message,
        waves=tuple(waves),
        unselected=tuple(row.unselected),
    )
