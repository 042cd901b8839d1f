-- Database roles for module-reconciler on PostgreSQL (examples/kubernetes).
--
--   reconciler_readonly  plan, drift and serve: SELECT on the legacy table and the reconciler's
--                        tables, nothing else; its sessions are read-only by default too.
--   reconciler_drift     drift --notify: reconciler_readonly plus writing the drift it last
--                        notified (reconciler_drift_state), so hourly runs alert once.
--
-- Run it as the owner of the tables (the role that ran `reconciler init`), in the store's
-- database and with its search_path, after `reconciler init`; run it again after an upgrade's
-- `reconciler init`, so new tables are granted too. Idempotent. It sets no password: give
-- each role one from your secret store (ALTER ROLE reconciler_readonly PASSWORD ...).

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reconciler_readonly') THEN
    CREATE ROLE reconciler_readonly LOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'reconciler_drift') THEN
    CREATE ROLE reconciler_drift LOGIN IN ROLE reconciler_readonly;
  END IF;
END
$$;

ALTER ROLE reconciler_readonly SET default_transaction_read_only = on;

DO $$
DECLARE
  t record;
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO reconciler_readonly', current_schema());
  FOR t IN
    SELECT tablename FROM pg_tables
    WHERE schemaname = current_schema()
      AND (tablename = 'client_app_overrides' OR tablename LIKE 'reconciler\_%')
  LOOP
    EXECUTE format('GRANT SELECT ON %I.%I TO reconciler_readonly', current_schema(), t.tablename);
  END LOOP;
  IF to_regclass(format('%I.reconciler_drift_state', current_schema())) IS NOT NULL THEN
    EXECUTE format(
      'GRANT SELECT, INSERT, UPDATE, DELETE ON %I.reconciler_drift_state TO reconciler_drift',
      current_schema()
    );
  END IF;
END
$$;
