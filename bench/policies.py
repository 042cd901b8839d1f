"""Benchmark the cost of policy evaluation in `plan` (issue 16): at most +10 % at 10,000 clients
with 10 rules.

    python bench/policies.py [--clients 10000] [--repeat 1] [--store URL] [--worst]

The fleet comes from bench/gen_fleet.py (cached, no policies/); a copy of it gets
policies/bench.yaml with 10 rules of the kinds teams write (scoped denies, warnings on kinds,
modules, settings values, override paths, client fields). Live state is seeded equal to the
desired state except ~10 % of clients (bench/common.py `seed_live`, as bench/report.py does),
in a fresh PostgreSQL database unless --store names one. `plan` runs in-process on both trees,
interleaved, best of --repeat; the figure is the ratio.

--worst also times the pure part with every client changed (planned against empty live state):
`plan_clients` alone, then policy evaluation over its ~30 changes per client.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import fleet, fresh_database, seed_live

from reconciler import api
from reconciler.desired.load import load_desired
from reconciler.live.engine import dispose_engines
from reconciler.plan.build import plan_clients
from reconciler.plan.policy import evaluate

RULES = """\
rules:
  - id: keep-integrations-on-enterprise
    effect: deny
    expression: change.kind == "disable" && change.module in ["integrations", "email-integration"]
    message: enterprise clients keep their integrations
    scope: {profiles: [enterprise]}
  - id: review-switch-offs
    effect: warn
    expression: change.kind == "disable" && !change.informational
    message: a module is switched off
  - id: support-stays
    effect: deny
    expression: change.kind == "disable" && change.module == "support"
    message: support is never switched off
  - id: analytics-retention-floor
    effect: deny
    expression: >-
      change.kind == "setting" && change.module == "analytics"
      && change.path == ["retention_days"] && type(change.new) == int && change.new < 30
    message: keep analytics for at least 30 days
  - id: legacy-row-catch-up
    effect: warn
    expression: change.kind == "enable" && change.stores == ["legacy"]
    message: the legacy row lost this module outside git
  - id: replace-writes-legacy
    effect: warn
    expression: >-
      client.strategy == "replace" && "legacy" in change.stores && change.kind == "disable"
    message: a replace client loses a module in the legacy row
  - id: foundation-first
    effect: deny
    expression: '!("foundation" in client.profiles) && change.kind == "enable"'
    message: every paying client has the foundation profile
  - id: generator-needs-growth
    effect: deny
    expression: >-
      change.kind == "enable" && change.module == "consultation-generator"
      && !("growth" in client.profiles)
    message: the consultation generator is sold with growth
  - id: secrets-change
    effect: warn
    expression: change.sensitive && change.kind == "setting" && change.op == "remove"
    message: a secret is removed
  - id: no-downgrade-to-null
    effect: deny
    expression: change.kind == "version" && change.new == null && !change.informational
    message: a module loses its version
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--store", default=None, help="an initialised store (default: fresh PG)")
    parser.add_argument("--worst", action="store_true")
    args = parser.parse_args()

    root = fleet(args.clients)
    with tempfile.TemporaryDirectory(prefix="bench-policies-") as tmp:
        ruled = Path(tmp) / "fleet"
        shutil.copytree(root, ruled, ignore=shutil.ignore_patterns(".complete"))
        (ruled / "policies").mkdir(exist_ok=True)
        (ruled / "policies" / "bench.yaml").write_text(RULES)
        if args.store:
            _compare(args.store, root, ruled, args.repeat)
        else:
            with fresh_database("policies") as url:
                seed_live(url, root)
                _compare(url, root, ruled, args.repeat)
                dispose_engines()
        if args.worst:
            _worst(ruled)


def _compare(url: str, root: Path, ruled: Path, repeat: int) -> None:
    """`plan` of both trees, interleaved; wall and CPU seconds of this process (the database
    server's work is the same on both sides)."""
    times: dict[str, list[tuple[float, float]]] = {"plain": [], "ruled": []}
    planned = None
    for _ in range(repeat):
        for label, tree in (("plain", root), ("ruled", ruled)):
            wall, cpu = time.perf_counter(), time.process_time()
            result = api.plan(url, str(tree))
            times[label].append((time.perf_counter() - wall, time.process_time() - cpu))
            if label == "ruled":
                planned = result
    assert planned is not None
    changes = sum(len(c.changes) for c in planned.clients)
    print(
        f"fleet {root.name}: {len(planned.clients)} clients with {changes} changes, "
        f"{planned.unchanged} unchanged; {len(planned.violations)} violations"
    )
    for kind, index in (("wall", 0), ("CPU", 1)):
        plain = min(t[index] for t in times["plain"])
        ruled_s = min(t[index] for t in times["ruled"])
        print(
            f"plan {kind}: without policies {plain:.2f} s, with 10 rules {ruled_s:.2f} s "
            f"(best of {repeat}): {100 * (ruled_s / plain - 1):+.1f} % (target <= +10 %)"
        )


def _worst(ruled: Path) -> None:
    state = load_desired(ruled)
    clients = list(state.clients.values())
    start = time.perf_counter()
    plans, _ = plan_clients(
        clients, {}, legacy_defaults=state.settings.legacy_defaults, catalog=state.catalog
    )
    planning = time.perf_counter() - start
    start = time.perf_counter()
    violations = evaluate(state.policies, state.clients, plans)
    evaluating = time.perf_counter() - start
    changes = sum(len(p.changes) for p in plans)
    print(
        f"worst case, every client changed: {len(plans)} clients, {changes} changes; "
        f"plan_clients {planning:.2f} s, policy evaluation {evaluating:.2f} s "
        f"({len(violations)} violations, {100 * evaluating / planning:.1f} % of plan_clients)"
    )


if __name__ == "__main__":
    main()
