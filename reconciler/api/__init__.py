"""The product's Python API: one module per operation, each readable top to bottom (STYLE §4).

The CLI and the web dashboard are thin skins over these functions. Each raises
`reconciler.errors.ReconcilerError` (or a subclass callers branch on: `ValidationFailed`,
`StalePlan`, `UnsafePlan`, `DamagedPlan`, `RunNotFound`, `ConnectionLost`) for anything a user
can fix.

Each function's module is imported on first use (`api.plan`, `from reconciler.api import
plan`), so `import reconciler.api` costs nothing and a command loads only what it runs (issue
15). `api.plan` is the function even though `reconciler.api.plan` is also the module's name:
when Python binds a submodule that has a function of its own name on this package (as it does
after `import reconciler.api.plan`), the function is bound instead (`_Api.__setattr__`).
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# public function -> the module of this package that defines it
FUNCTIONS: dict[str, str] = {
    "apply": "apply",
    "apply_saved": "apply",
    "changed_clients": "plan",
    "check": "validate",
    "check_policies": "apply",
    "drift": "drift",
    "explain": "explain",
    "heal": "drift",
    "history": "history",
    "history_show": "history",
    "import_state": "adopt",
    "init": "init",
    "masker": "history",
    "merge_results": "merge",
    "plan": "plan",
    "revert": "revert",
    "rollout_abort": "rollout",
    "rollout_plan": "rollout",
    "rollout_resume": "rollout",
    "rollout_start": "rollout",
    "rollout_status": "rollout",
    "save_plan": "plan",
    "schema": "validate",
    "show_run": "history",
    "status": "status",
    "totals": "history",
    "validate": "validate",
    "write_results": "merge",
}

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

if not TYPE_CHECKING:  # mypy sees the imports above, and no catch-all attribute

    def __getattr__(name: str) -> Any:
        """A public function, its module imported now; anything else is not here."""
        module = FUNCTIONS.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        # __import__, not importlib.import_module: `-X importtime` reports only the former.
        __import__(f"{__name__}.{module}")
        function = getattr(sys.modules[f"{__name__}.{module}"], name)
        globals()[name] = function
        return function

    def __dir__() -> list[str]:
        return sorted({*globals(), *FUNCTIONS})


class _Api(types.ModuleType):
    """This package: a submodule named like one of its functions is bound as that function."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            isinstance(value, types.ModuleType)
            and FUNCTIONS.get(name) == name
            and value.__name__ == f"{__name__}.{name}"
        ):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Api
