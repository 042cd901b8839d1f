"""`import`: write client files from the live state of both stores (SPEC §6)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from reconciler.adopt.files import import_clients
from reconciler.api._store import open_store
from reconciler.api.validate import validate
from reconciler.errors import ReconcilerError
from reconciler.live.state import read_live
from reconciler.model import StrategyName
from reconciler.results import ImportReport


def import_state(
    store_url: str,
    desired_dir: str = "desired-state",
    *,
    client_ids: Sequence[str] = (),
    out_dir: str | None = None,
    force: bool = False,
    strategy: StrategyName = "merge",
) -> ImportReport:
    """Write client YAML from the live state of both stores (SPEC §6, the migration tool).

    Every module is classified as legacy, registry or unified, and conflicts between the
    stores (enabled in one and not the other, a version other than the catalog's, settings a
    file cannot express) are reported per module. Each file starts with the schema modeline,
    validates against `desired_dir`'s settings and catalog, and plans to no writes against live
    state: what cannot be expressed is left out (strategy merge keeps it) or marked
    `strategy: preserve`. A client without a legacy row imports as the legacy defaults.

    Args:
        store_url: SQLAlchemy URL of the live stores.
        desired_dir: the desired-state tree whose settings and catalog the files must pass.
        client_ids: only these clients (also clients with no live state at all); default:
            every client with live state.
        out_dir: where to write the files; default `<desired_dir>/clients`.
        force: overwrite existing files (a client that has a file keeps its file name).
        strategy: the client strategy written (merge, replace or preserve).

    Returns:
        An `ImportReport`; `report.ok` is False (CLI exit 1) when a file existed without
        `force` or a client's live state is not valid desired state.

    Raises:
        ValidationFailed: `desired_dir` itself does not validate.
        ReconcilerError: the store cannot be read or is not initialised; `out_dir` is a file.
    """
    if out_dir and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ReconcilerError(f"--out {out_dir} is not a directory", hint="pass a directory")
    state = validate(desired_dir)
    wanted = sorted(set(client_ids)) or None
    with open_store(store_url) as store, store.connect() as conn:
        lives = read_live(conn, wanted)
    target = Path(out_dir) if out_dir else Path(desired_dir) / "clients"
    try:
        if lives:
            target.mkdir(parents=True, exist_ok=True)  # before any file: refused cleanly
        clients = import_clients(
            state, desired_dir, lives, out_dir=out_dir, force=force, strategy=strategy
        )
    except OSError as exc:  # /proc/x, a read-only mount, a full disk
        where = exc.filename or target
        raise ReconcilerError(
            f"cannot write to {where}: {exc.strerror or type(exc).__name__}",
            hint="give --out a directory you can write to",
        ) from None
    return ImportReport(
        store=store.display,
        out_dir=out_dir or str(Path(desired_dir) / "clients"),
        clients=tuple(clients),
    )
