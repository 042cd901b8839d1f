"""Client ids as the database holds them: UUIDs on PostgreSQL, any string on SQLite (SPEC §3)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterator, Sequence
from typing import TypeVar

from sqlalchemy import ColumnElement, bindparam, cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.engine import Connection

from reconciler.errors import BadInput

BATCH = 1000  # IN-list size for set-based reads
_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
T = TypeVar("T")


def db_client_id(dialect: str, client_id: str) -> str:
    """The stored form of `client_id`; a clear error when PostgreSQL needs a UUID and it is not."""
    if dialect != "postgresql":
        return client_id
    if isinstance(client_id, str) and _CANONICAL.fullmatch(client_id):
        return client_id  # already as PostgreSQL prints it (the common case, 10x cheaper)
    try:
        return str(uuid.UUID(client_id))
    except (ValueError, TypeError, AttributeError):
        raise BadInput(
            f"client id {client_id!r} is not a valid UUID",
            hint="on PostgreSQL client_app_overrides.client_id is a uuid column; "
            "use the client's UUID as client_id",
        ) from None


def id_map(conn: Connection, client_ids: Collection[str]) -> dict[str, str]:
    """Stored form -> id as the caller spelled it, for every requested id."""
    dialect = conn.dialect.name
    return {db_client_id(dialect, cid): cid for cid in client_ids}


def batches(items: Sequence[T], size: int = BATCH) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def keyed(column: ColumnElement[str], ids: Sequence[str], conn: Connection) -> ColumnElement[bool]:
    """`column` is one of `ids` (stored forms): on PostgreSQL `column = ANY(CAST(:ids AS
    uuid[]))`, one array parameter and one statement text whatever the batch's size (a plain
    IN list would be a new statement per size); elsewhere an IN list."""
    if conn.dialect.name != "postgresql":
        return column.in_(list(ids))
    array = cast(bindparam("keyed_ids", list(ids), unique=True), ARRAY(PG_UUID(as_uuid=False)))
    return column == array.any_()
