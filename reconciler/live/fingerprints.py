"""Fingerprints of clients' live rows, computed by PostgreSQL (issue 15): a warm plan asks the
database for one md5 per client instead of reading and decoding every row.

A client's fingerprint covers every column of its legacy row and of each registry row (their
text form, `updated_at` included), so any write to either store changes it. SQLite has no md5:
there the answer is None and callers read the rows as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Connection

from reconciler.live.ids import batches, id_map
from reconciler.live.stats import keyed_reads

_LEGACY = text(
    "SELECT t.client_id::text, md5(t::text) FROM client_app_overrides AS t "
    "WHERE t.client_id = ANY(:ids)"
).bindparams(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=False))))
_REGISTRY = text(
    "SELECT t.client_id::text, md5(string_agg(t::text, E'\\n' ORDER BY t.module_id)) "
    "FROM reconciler_client_modules AS t WHERE t.client_id = ANY(:ids) GROUP BY t.client_id"
).bindparams(bindparam("ids", type_=ARRAY(PG_UUID(as_uuid=False))))


def live_fingerprints(conn: Connection, client_ids: Collection[str]) -> dict[str, str] | None:
    """Each requested client's live fingerprint (clients with no rows too), by id as given;
    None when the store cannot compute them (SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    wanted = id_map(conn, client_ids)
    legacy: dict[str, str] = {}
    registry: dict[str, str] = {}
    with keyed_reads(conn):
        for batch in batches(sorted(wanted)):
            legacy.update((k, v) for k, v in conn.execute(_LEGACY, {"ids": list(batch)}))
            registry.update((k, v) for k, v in conn.execute(_REGISTRY, {"ids": list(batch)}))
    return {
        given: hashlib.sha1(
            f"{legacy.get(stored, '-')}:{registry.get(stored, '-')}".encode()
        ).hexdigest()
        for stored, given in wanted.items()
    }
