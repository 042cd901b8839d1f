"""SQLAlchemy Core tables: the legacy table as the original defines it, plus the reconciler's own.

The legacy table `client_app_overrides` belongs to the original application: these definitions
are only used to read and write it; migrate.py creates it (with its trigger and indexes) only
when it is missing and never alters it (SPEC §4).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.types import TypeEngine

from reconciler.model import ACTOR_MAX, MODULE_ID_MAX, MODULE_NAME_MAX, MODULE_VERSION_MAX

# JSONB and UUID on PostgreSQL, JSON text and strings on SQLite; Python None is SQL NULL.
JsonType: TypeEngine[Any] = JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)
ClientId: TypeEngine[str] = String(36).with_variant(PG_UUID(as_uuid=False), "postgresql")

metadata = MetaData()

LEGACY_TABLE = "client_app_overrides"
LEGACY_DATA_COLUMNS: tuple[str, ...] = (
    "modules_enabled",
    "theme_overrides",
    "consultation_config",
    "plan_catalog_overrides",
    "catalog_overrides",
)

client_app_overrides = Table(
    LEGACY_TABLE,
    metadata,
    # gen_random_uuid() on PostgreSQL, a UUID-shaped expression on SQLite (legacy_ddl.py).
    Column("id", ClientId, primary_key=True, server_default=FetchedValue()),
    Column("client_id", ClientId, nullable=False, unique=True),
    Column("modules_enabled", JsonType, nullable=False, server_default=text("'[]'")),
    Column("theme_overrides", JsonType, server_default=text("'{}'")),
    Column("consultation_config", JsonType, server_default=text("'{}'")),
    Column("plan_catalog_overrides", JsonType, server_default=text("'{}'")),
    Column("catalog_overrides", JsonType, server_default=text("'{}'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reconciler_modules = Table(
    "reconciler_modules",
    metadata,
    Column("id", String(MODULE_ID_MAX), primary_key=True),
    Column("name", String(MODULE_NAME_MAX), nullable=False),
    Column("version", String(MODULE_VERSION_MAX), nullable=False),
    Column("definition", JsonType, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# No foreign key to reconciler_modules: live rows may name modules the catalog does not
# (yet) know, and `import` must be able to read them (SPEC §6).
reconciler_client_modules = Table(
    "reconciler_client_modules",
    metadata,
    Column("client_id", ClientId, primary_key=True),
    Column("module_id", String(MODULE_ID_MAX), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("version", String(MODULE_VERSION_MAX), nullable=True),
    Column("settings", JsonType, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

reconciler_runs = Table(
    "reconciler_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(20), nullable=False),  # apply | revert | heal
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("actor", String(ACTOR_MAX), nullable=False),
    Column("command", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("desired_commit", String(64), nullable=True),
    Column("store", Text, nullable=False),  # display URL, never a password
    Column("status", String(20), nullable=False),  # running | done | partial | refused
    Column("reverts_run", Integer, nullable=True),
    Column("summary", JsonType, nullable=True),
    # The process that runs it (migration 2): a `running` run whose process is gone on this
    # host is shown as `abandoned` (killed with kill -9, power loss).
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
)

reconciler_run_clients = Table(
    "reconciler_run_clients",
    metadata,
    Column("run_id", Integer, ForeignKey("reconciler_runs.id"), primary_key=True),
    Column("client_id", ClientId, primary_key=True),
    Column("before", JsonType, nullable=False),  # ClientLive.to_json(); "legacy": null = no row
    Column("after", JsonType, nullable=False),
    Column("committed_at", DateTime(timezone=True), nullable=False),
)

reconciler_schema_version = Table(
    "reconciler_schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

# Migration step 4 (drift --notify): each drifted client's drift as last notified. Not in
# RECONCILER_TABLES, which step 1 creates: a released step never changes what it creates.
reconciler_drift_state = Table(
    "reconciler_drift_state",
    metadata,
    Column("client_id", ClientId, primary_key=True),
    Column("fingerprint", String(64), nullable=False),  # sha256 of the drift (plan/events.py)
    Column("first_seen", DateTime(timezone=True), nullable=False),  # drifted since
    Column("last_seen", DateTime(timezone=True), nullable=False),
    Column("items", JsonType, nullable=False),  # the drift items, sensitive values masked
)

# drift and history look up the runs of one client.
Index("ix_reconciler_run_clients_client_id", reconciler_run_clients.c.client_id)

# Tables owned by the reconciler, in creation order.
RECONCILER_TABLES: tuple[Table, ...] = (
    reconciler_modules,
    reconciler_client_modules,
    reconciler_runs,
    reconciler_run_clients,
    reconciler_schema_version,
)
