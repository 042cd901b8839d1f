"""The product's Python API: one module per operation, each readable top to bottom (STYLE §4).

The CLI and the web dashboard are thin skins over these functions. Each raises
`reconciler.errors.ReconcilerError` (or a subclass callers branch on: `ValidationFailed`,
`StalePlan`, `UnsafePlan`, `DamagedPlan`, `RunNotFound`, `ConnectionLost`) for anything a user
can fix. Each function below is bound after its module is imported, so `api.plan` is the
function even though `reconciler.api.plan` is also the module's name.
"""

from reconciler.api.adopt import import_state
from reconciler.api.apply import apply, apply_saved, check_policies
from reconciler.api.drift import drift, heal
from reconciler.api.explain import explain
from reconciler.api.history import history, history_show, masker, show_run, totals
from reconciler.api.init import init
from reconciler.api.merge import merge_results, write_results
from reconciler.api.plan import changed_clients, plan, save_plan
from reconciler.api.revert import revert
from reconciler.api.rollout import (
    rollout_abort,
    rollout_plan,
    rollout_resume,
    rollout_start,
    rollout_status,
)
from reconciler.api.status import status
from reconciler.api.validate import check, schema, validate

__all__ = [
    "apply",
    "apply_saved",
    "changed_clients",
    "check",
    "check_policies",
    "drift",
    "explain",
    "heal",
    "history",
    "history_show",
    "import_state",
    "init",
    "masker",
    "merge_results",
    "plan",
    "revert",
    "rollout_abort",
    "rollout_plan",
    "rollout_resume",
    "rollout_start",
    "rollout_status",
    "save_plan",
    "schema",
    "show_run",
    "status",
    "totals",
    "validate",
    "write_results",
]
