"""DDL of `client_app_overrides` as the original migration defines it, per dialect (SPEC §4).

Only used by `init` when the table is missing; an existing table is never altered.
"""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

# PostgreSQL: the original's columns, unique index, GIN indexes and BEFORE UPDATE trigger.
# The trigger function has its own name so we never replace an application-wide function.
_PG = [
    """CREATE TABLE client_app_overrides (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_id uuid NOT NULL{fk},
  modules_enabled jsonb NOT NULL DEFAULT '[]'::jsonb,
  theme_overrides jsonb DEFAULT '{{}}'::jsonb,
  consultation_config jsonb DEFAULT '{{}}'::jsonb,
  plan_catalog_overrides jsonb DEFAULT '{{}}'::jsonb,
  catalog_overrides jsonb DEFAULT '{{}}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
)""",
    "CREATE UNIQUE INDEX idx_client_app_overrides_client_id ON client_app_overrides (client_id)",
    "CREATE INDEX idx_client_app_overrides_modules_enabled "
    "ON client_app_overrides USING gin (modules_enabled)",
    "CREATE INDEX idx_client_app_overrides_catalog_overrides "
    "ON client_app_overrides USING gin (catalog_overrides)",
    """CREATE OR REPLACE FUNCTION client_app_overrides_set_updated_at() RETURNS trigger AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
    "CREATE TRIGGER client_app_overrides_set_updated_at BEFORE UPDATE ON client_app_overrides "
    "FOR EACH ROW EXECUTE FUNCTION client_app_overrides_set_updated_at()",
]

# SQLite: the same columns as JSON text, a UUID-shaped default id, and an updated_at trigger.
_SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f000', 'now')"
_SQLITE_UUID = (
    "lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || "
    "substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || "
    "substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))"
)
_SQLITE = [
    f"""CREATE TABLE client_app_overrides (
  id VARCHAR(36) NOT NULL PRIMARY KEY DEFAULT ({_SQLITE_UUID}),
  client_id VARCHAR(36) NOT NULL{{fk}},
  modules_enabled JSON NOT NULL DEFAULT '[]',
  theme_overrides JSON DEFAULT '{{{{}}}}',
  consultation_config JSON DEFAULT '{{{{}}}}',
  plan_catalog_overrides JSON DEFAULT '{{{{}}}}',
  catalog_overrides JSON DEFAULT '{{{{}}}}',
  created_at DATETIME NOT NULL DEFAULT ({_SQLITE_NOW}),
  updated_at DATETIME NOT NULL DEFAULT ({_SQLITE_NOW})
)""",
    "CREATE UNIQUE INDEX idx_client_app_overrides_client_id ON client_app_overrides (client_id)",
    f"""CREATE TRIGGER client_app_overrides_set_updated_at
AFTER UPDATE ON client_app_overrides FOR EACH ROW WHEN NEW.updated_at = OLD.updated_at
BEGIN
  UPDATE client_app_overrides SET updated_at = {_SQLITE_NOW} WHERE id = NEW.id;
END""",
]


def create_legacy_table(conn: Connection) -> None:
    """Create client_app_overrides like the original; reference clients(id) when it exists."""
    has_clients = inspect(conn).has_table("clients")
    fk = " REFERENCES clients(id) ON DELETE CASCADE" if has_clients else ""
    statements = _PG if conn.dialect.name == "postgresql" else _SQLITE
    for statement in statements:
        conn.exec_driver_sql(statement.format(fk=fk) if "{fk}" in statement else statement)
