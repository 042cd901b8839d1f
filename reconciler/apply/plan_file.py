"""Saved plan files on disk: write one for `plan --out`, read and check one for `apply FILE`.

With RECONCILER_PLAN_KEY set, plans are signed when written and must carry a valid signature
when read (plan/saved.py); without it the checksum detects corruption, not tampering.
"""

from __future__ import annotations

import os
from pathlib import Path

from reconciler.errors import DamagedPlan, ReconcilerError
from reconciler.files import write_atomic
from reconciler.plan.model import Plan
from reconciler.plan.saved import SavedPlan, dump_plan, load_plan

PLAN_KEY_ENV = "RECONCILER_PLAN_KEY"


def plan_key() -> bytes | None:
    """The signing key of saved plans, from the environment; None when unset or empty."""
    key = os.environ.get(PLAN_KEY_ENV, "")
    return key.encode() if key else None


def write_plan_file(planned: Plan, path: str, *, uncommitted: str | None = None) -> None:
    """Write `planned` to `path` as a saved plan (no sensitive values, checksummed, signed
    with RECONCILER_PLAN_KEY when set; `uncommitted`: the fingerprint of a tree with
    uncommitted changes): atomically, mode 0666 & ~umask; a symlink at `path` is replaced,
    its target never written."""
    text = dump_plan(planned, uncommitted=uncommitted, key=plan_key())
    try:
        write_atomic(path, text.encode("utf-8"), overwrite=True)
    except OSError as exc:
        raise ReconcilerError(
            f"cannot write plan file {path}: {exc.strerror or exc}",
            hint="choose a writable path for --out",
        ) from None


def read_plan_file(path: str, *, store: str) -> SavedPlan:
    """The saved plan in `path`, checked whole and made for `store` (a display URL).

    Raises:
        ReconcilerError: the file cannot be read. DamagedPlan: it is not an intact saved plan
            of this version, or it was made for another store.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconcilerError(
            f"cannot read plan file {path}: {exc}", hint="check the path"
        ) from None
    saved = load_plan(text, name=path, key=plan_key())
    if saved.store != store:
        raise DamagedPlan(
            f"{path} was made for store {saved.store}, not {store}",
            hint="apply it with the same --store, or plan again for this store",
        )
    return saved
