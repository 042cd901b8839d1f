"""The read-back after a batch's writes (SPEC §5: verified after writing, read back and compare),
in the stores' row form (issue 15).

`read_live(conn, ids)[cid] == target` builds a LegacyRow, a RegistryModule per row and a
ClientLive per client only to compare them, which was a third of a first apply's write pass.
On PostgreSQL each table's rows of the batch come back as one JSON document (the same keyed
index scans as `read_live`), and each client's rows are compared with its target's values,
normalised exactly as `read_live` reads them: a legacy row's columns as they are (the module
list as a list), a registry row's `enabled`, `version` and `settings or {}`. Elsewhere
(SQLite) it is `read_live` and dataclass equality.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from reconciler.live.bulk import loads
from reconciler.live.ids import db_client_id
from reconciler.live.registry import rows_as_json
from reconciler.live.state import read_live
from reconciler.live.tables import LEGACY_DATA_COLUMNS
from reconciler.model import ClientLive

_LEGACY_AS_JSON = text(
    f"SELECT CAST(json_agg(json_build_array(client_id, {', '.join(LEGACY_DATA_COLUMNS)})) "
    "AS text) FROM client_app_overrides WHERE client_id = ANY(CAST(:ids AS uuid[]))"
)


def first_mismatch(conn: Connection, targets: Sequence[ClientLive]) -> str | None:
    """Read back the clients of `targets` (in the caller's transaction) and return the first,
    in the order given, whose stored state is not its target; None when all are."""
    if conn.dialect.name != "postgresql":
        written = read_live(conn, [t.client_id for t in targets])
        return next((t.client_id for t in targets if written[t.client_id] != t), None)
    stored = [db_client_id("postgresql", t.client_id) for t in targets]
    (document,) = conn.execute(_LEGACY_AS_JSON, {"ids": stored}).one()
    legacy: dict[str, list[Any]] = {str(row[0]): row[1:] for row in loads(document or "[]")}
    registry: dict[str, dict[str, list[Any]]] = {}
    for cid, module_id, enabled, version, settings in rows_as_json(conn, stored):
        registry.setdefault(cid, {})[module_id] = [bool(enabled), version, settings or {}]
    for target, key in zip(targets, stored, strict=True):
        row = target.legacy
        if row is None:
            if key in legacy:
                return target.client_id
        elif legacy.get(key) != [
            list(row.modules_enabled),
            row.theme_overrides,
            row.consultation_config,
            row.plan_catalog_overrides,
            row.catalog_overrides,
        ]:
            return target.client_id
        expected = {m: [r.enabled, r.version, r.settings] for m, r in target.registry.items()}
        if registry.get(key, {}) != expected:
            return target.client_id
    return None
