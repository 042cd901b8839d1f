"""Fingerprints of clients' live rows, computed by PostgreSQL (issue 15): a warm plan asks the
database for one md5 per client instead of reading and decoding every row.

A client's fingerprint covers every column of its legacy row and of each registry row (their
text form, `updated_at` included), so any write to either store changes it. SQLite has no md5:
there the answer is None and callers read the rows as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from sqlalchemy import text
from sqlalchemy.engine import Connection

from reconciler.live.ids import batches, id_map
from reconciler.live.stats import keyed_reads

# One statement per batch of ids: for each id, the md5 of its legacy row's text and the md5 of
# its registry rows' texts joined in module order, by correlated subqueries (one index lookup
# per id and table). The ids go as one text parameter cast to uuid[] (no per-element binding);
# they are stored forms (ids.db_client_id), so they need no quoting. A single legacy row gives
# md5(its text), as string_agg of one text is that text; NULL (no rows) reads as "-".
_FINGERPRINTS = text(
    "SELECT i.id::text, "
    "(SELECT md5(string_agg(t::text, E'\\n' ORDER BY t.id)) FROM client_app_overrides AS t "
    "WHERE t.client_id = i.id), "
    "(SELECT md5(string_agg(t::text, E'\\n' ORDER BY t.module_id)) "
    "FROM reconciler_client_modules AS t WHERE t.client_id = i.id) "
    "FROM unnest(CAST(:ids AS uuid[])) AS i(id)"
)


def live_fingerprints(conn: Connection, client_ids: Collection[str]) -> dict[str, str] | None:
    """Each requested client's live fingerprint (clients with no rows too), by id as given;
    None when the store cannot compute them (SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    wanted = id_map(conn, client_ids)
    found: dict[str, str] = {}
    with keyed_reads(conn):
        for batch in batches(sorted(wanted)):
            ids = "{" + ",".join(batch) + "}"
            for stored, legacy, registry in conn.execute(_FINGERPRINTS, {"ids": ids}):
                pair = f"{legacy or '-'}:{registry or '-'}"
                found[wanted[stored]] = hashlib.sha1(pair.encode()).hexdigest()
    return found
