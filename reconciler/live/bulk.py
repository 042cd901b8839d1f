"""Many rows in one statement (issue 15): an apply batch writes thousands of rows, and an
executemany pays the driver's per-row work (parameter adaptation, a JSON dump per JSON value,
a protocol message per row) for each of them.

On PostgreSQL the rows go as one JSON document, unpacked by `jsonb_to_recordset` in a single
INSERT ... SELECT (or UPDATE ... FROM): one parameter, one encode for the batch, one statement
text whatever the batch's size. JSON null becomes SQL NULL, as the tables' JSON columns
(`none_as_null`) store Python None. Elsewhere (SQLite) the same rows go through SQLAlchemy's
executemany, which sqlite3 runs in C.

Documents are written and read with orjson (several times faster than json on a batch's
megabyte), falling back to json where the two differ: orjson refuses integers beyond 64 bits
and keys that are not strings (json writes them), and reads a run of 19 or more digits as a
float where json keeps the integer exact. Where orjson writes a value json would not (NaN or
infinity as null; PostgreSQL refuses json's `NaN` anyway) the read-back after writing differs
from the target and the client is retried alone and reported failed, as with json.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Connection

# The column types of jsonb_to_recordset's record, per column name.
Types = Mapping[str, str]


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    types: Types,
    constants: Mapping[str, Any] | None = None,
) -> None:
    """INSERT `rows` (the columns of `types`, JSON values) plus `constants` (the same value
    for every row, e.g. a timestamp) into `table`."""
    if not rows:
        return
    constants = constants or {}
    if conn.dialect.name != "postgresql":
        conn.execute(insert(table), [{**row, **constants} for row in rows])
        return
    quote = conn.dialect.identifier_preparer.quote
    columns = [*types, *constants]
    values = [f"r.{quote(c)}" for c in types] + [f":c_{c}" for c in constants]
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"SELECT {', '.join(values)} FROM {_recordset(types, quote)}"
    )
    params = {"rows": dumps(rows), **{f"c_{c}": v for c, v in constants.items()}}
    conn.execute(text(statement), params)


def update_rows(
    conn: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]], types: Types
) -> None:
    """UPDATE the rows of `table` whose `key` column matches a row's, setting the other
    columns of `types` (PostgreSQL only; the caller runs an executemany elsewhere)."""
    if not rows:
        return
    quote = conn.dialect.identifier_preparer.quote
    assignments = ", ".join(f"{quote(c)} = r.{quote(c)}" for c in types if c != key)
    statement = (
        f"UPDATE {quote(table.name)} AS t SET {assignments} FROM {_recordset(types, quote)} "
        f"WHERE t.{quote(key)} = r.{quote(key)}"
    )
    conn.execute(text(statement), {"rows": dumps(rows)})


def _recordset(types: Types, quote: Any) -> str:
    record = ", ".join(f"{quote(c)} {t}" for c, t in types.items())
    return f"jsonb_to_recordset(CAST(:rows AS jsonb)) AS r({record})"


def dumps(rows: Any) -> str:
    """A document of JSON values (rows, snapshots) as PostgreSQL parses them into jsonb."""
    try:
        return orjson.dumps(rows).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, a non-str key ...
        return json.dumps(rows, separators=(",", ":"))


# Digits as "0", everything else as ".": a run of 19 zeros is a number that may exceed 64 bits
# (orjson would read it as a float). bytes.translate and a substring search run in C; a regex
# scan of a batch's document took ten times orjson's parse.
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x2E for b in range(256))
_LONG_NUMBER = b"0" * 19


def loads(document: str) -> Any:
    """A JSON document PostgreSQL wrote (json_agg of rows), as json.loads reads it."""
    raw = document.encode()
    if _LONG_NUMBER not in raw.translate(_DIGITS):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:  # e.g. a number beyond a double: json reads infinity
            pass
    return json.loads(document)
