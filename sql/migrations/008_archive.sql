-- 008: the archives of runs (BagIt bags, jobs/archive_step.c) and the
-- retention that removes old archives and raw usage (billrun archive
-- prune). reports/README.md and core/AUDIT.md explain the design.

-- One row per archive written. An archive is never changed; pruning only
-- records when its file was removed (pruned_at, set once, by the owner).
CREATE TABLE archives (
  id               bigserial PRIMARY KEY,
  run_id           bigint NOT NULL REFERENCES runs(id),
  path             text NOT NULL UNIQUE,
  sha256           text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  bytes            bigint NOT NULL,
  payload_files    bigint NOT NULL,
  payload_bytes    bigint NOT NULL,
  signed           boolean NOT NULL,
  audit_head_id    bigint NOT NULL,
  audit_head_hash  text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  pruned_at        timestamptz
);
CREATE INDEX archives_run ON archives (run_id);

CREATE FUNCTION billrun_archive_only_prune() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.pruned_at IS NULL AND NEW.pruned_at IS NOT NULL
     AND (to_jsonb(NEW) - 'pruned_at') = (to_jsonb(OLD) - 'pruned_at') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table archives is append-only: a row may only be marked pruned, once'
    USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER archives_only_prune BEFORE UPDATE ON archives
  FOR EACH ROW EXECUTE FUNCTION billrun_archive_only_prune();
CREATE TRIGGER archives_no_delete BEFORE DELETE ON archives
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
SELECT billrun_audit_table('archives', 'archive', true);

-- Raw usage past the retention: removed by the owner (billrun archive
-- prune), in the caller's transaction, with an audit entry. When usage is
-- append-only (a billrun_forbid_change trigger), those triggers are
-- disabled for this transaction only: ALTER TABLE holds a lock that
-- keeps every other writer out until the transaction ends, and the
-- triggers are enabled again before it does, so no other session ever
-- sees them off. Returns the records removed, or NULL without a usage
-- table.
CREATE FUNCTION billrun_prune_usage(p_before timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  t text;
  guards text[];
  n bigint;
BEGIN
  IF to_regclass('usage') IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT array_agg(tgname ORDER BY tgname) INTO guards FROM pg_trigger
  WHERE tgrelid = 'usage'::regclass AND NOT tgisinternal AND tgenabled <> 'D'
    AND tgfoid = 'billrun_forbid_change'::regproc;
  FOREACH t IN ARRAY coalesce(guards, '{}') LOOP
    EXECUTE format('ALTER TABLE usage DISABLE TRIGGER %I', t);
  END LOOP;
  EXECUTE 'DELETE FROM usage WHERE event_time < $1' USING p_before;
  GET DIAGNOSTICS n = ROW_COUNT;
  FOREACH t IN ARRAY coalesce(guards, '{}') LOOP
    EXECUTE format('ALTER TABLE usage ENABLE TRIGGER %I', t);
  END LOOP;
  PERFORM billrun_audit('usage.pruned', 'usage',
                        jsonb_build_object('before', p_before, 'records', n));
  RETURN n;
END
$$;
REVOKE EXECUTE ON FUNCTION billrun_prune_usage(timestamptz) FROM PUBLIC;

GRANT SELECT, INSERT ON archives TO billrun_app;
GRANT USAGE ON SEQUENCE archives_id_seq TO billrun_app;
GRANT SELECT ON archives TO billrun_auditor;
