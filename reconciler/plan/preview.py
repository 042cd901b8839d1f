"""The plan `apply` prints before writing when it is too large to print whole (issue 15)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.plan.model import Plan, Summary


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanPreview:
    """The first clients of a plan (by client id) and the counts of all of it."""

    plan: Plan  # the clients shown, and the whole run's policy violations
    summary: Summary  # of the whole plan
    hidden: int  # clients with changes not shown
    limit: int  # plans of more clients than this are shortened
