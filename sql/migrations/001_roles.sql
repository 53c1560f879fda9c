-- 001: roles and privileges.
-- Roles are cluster-wide, so they are created only when missing. The owner
-- is whoever runs the migrations; the application role runs billing steps
-- (SET ROLE billrun_app, or a login of its own via database.app_dsn); the
-- auditor role only reads.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_app') THEN
    CREATE ROLE billrun_app NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'billrun_auditor') THEN
    CREATE ROLE billrun_auditor NOLOGIN;
  END IF;
  -- The owner must be able to SET ROLE to both (a superuser already can).
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT billrun_app, billrun_auditor TO %I', current_user);
  END IF;
END
$$;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO billrun_app, billrun_auditor;

-- History must not be rewritten, not even by a mistaken owner session:
-- tables that keep billing history get this trigger for UPDATE and DELETE.
-- Retention (archive prune) is the one owner-run exception and disables
-- it explicitly in its own transaction.
CREATE FUNCTION billrun_forbid_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'issued history is corrected by new rows, never by changing old ones';
END
$$;
