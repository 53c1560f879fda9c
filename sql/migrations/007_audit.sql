-- 007: the audit log, a hash chain of every change to billing data.
-- core/AUDIT.md explains the design; in short:
--   * each entry is hashed as SHA-256(prev_hash || canonical entry), where
--     prev_hash is the previous entry's hash as 64 lowercase hex digits
--     (64 zeros for the first) and the canonical entry is six netstrings
--     (id, at, actor, kind, entity, payload), each "<byte length>:<bytes>,";
--   * whoever inserts supplies only kind, entity and payload: a trigger
--     takes the chain head's row lock, numbers the entry (gapless), stamps
--     it and chains it, inside the inserter's transaction, so an entry
--     commits with the change it records or not at all;
--   * the application role may INSERT and SELECT, nothing else; UPDATE,
--     DELETE and TRUNCATE are refused for everyone by triggers;
--   * tables that keep billing history get deferred AFTER triggers that
--     append one entry per row change at commit (billrun_audit_table).

-- The head of the chain: one row, locked by every append until commit.
CREATE TABLE audit_head (
  singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  last_id    bigint NOT NULL,
  last_hash  text NOT NULL CHECK (last_hash ~ '^[0-9a-f]{64}$')
);
INSERT INTO audit_head (last_id, last_hash) VALUES (0, repeat('0', 64));

CREATE TABLE audit_log (
  id         bigint PRIMARY KEY,          -- 1, 2, 3, ... without gaps
  at         timestamptz NOT NULL,
  actor      text NOT NULL,               -- the database role that made the change
  kind       text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.]*$'),
  entity     text NOT NULL,               -- what changed: "runs/12", "archive/FILE"
  payload    text NOT NULL,               -- canonical JSON (jsonb's text form), as hashed
  prev_hash  text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash       text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$')
);
CREATE INDEX audit_log_entity ON audit_log (entity);
CREATE INDEX audit_log_kind ON audit_log (kind, at);

-- The text form of an entry's time: UTC, microseconds.
CREATE FUNCTION billrun_audit_time(p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

-- The canonical entry: netstrings of the six fields, in this order. C has
-- the same function (audit_canonical in core/audit.c); a test checks that
-- both agree.
CREATE FUNCTION billrun_audit_canonical(p_id bigint, p_at text, p_actor text, p_kind text, p_entity text,
                                        p_payload text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT string_agg(octet_length(f) || ':' || f || ',', '' ORDER BY n)
  FROM unnest(ARRAY[p_id::text, p_at, p_actor, p_kind, p_entity, p_payload]) WITH ORDINALITY AS t(f, n)
$$;

CREATE FUNCTION billrun_audit_hash(p_prev text, p_canonical text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT encode(sha256(convert_to(p_prev || p_canonical, 'UTF8')), 'hex')
$$;

-- Who made the change: the role the session acts as (SET ROLE, or the
-- role option of the connection), else the login.
CREATE FUNCTION billrun_audit_actor() RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END
$$;

-- Numbers, stamps and chains every new entry. SECURITY DEFINER: only the
-- owner may move the head; the inserter needs INSERT on audit_log alone.
-- In READ COMMITTED the row lock waits for a concurrent appender to commit
-- and then reads the new head; in REPEATABLE READ a head that moved after
-- the transaction's snapshot raises a serialization failure (40001), which
-- the runner retries.
CREATE FUNCTION billrun_audit_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  h audit_head;
BEGIN
  SELECT * INTO h FROM audit_head FOR UPDATE;
  NEW.id := h.last_id + 1;
  NEW.at := clock_timestamp();
  NEW.actor := billrun_audit_actor();
  NEW.entity := coalesce(NEW.entity, '');
  NEW.payload := coalesce(NEW.payload, '{}')::jsonb::text;
  NEW.prev_hash := h.last_hash;
  NEW.hash := billrun_audit_hash(h.last_hash,
                billrun_audit_canonical(NEW.id, billrun_audit_time(NEW.at), NEW.actor, NEW.kind, NEW.entity,
                                        NEW.payload));
  UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash;
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION billrun_audit_chain();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();

-- Append one entry inside the caller's transaction; returns its id. For
-- set-based SQL in the jobs, and behind audit_append() in C.
CREATE FUNCTION billrun_audit(p_kind text, p_entity text, p_payload jsonb) RETURNS bigint
LANGUAGE sql AS $$
  INSERT INTO audit_log (kind, entity, payload) VALUES (p_kind, p_entity, p_payload::text) RETURNING id
$$;

-- Take the chain head's lock now, until the transaction ends. A
-- REPEATABLE READ transaction that will append calls this as its first
-- statement: later appends then never meet a head that moved after its
-- snapshot (otherwise a serialization failure, which is retried).
CREATE FUNCTION billrun_audit_lock() RETURNS bigint
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT last_id FROM audit_head FOR UPDATE
$$;

-- The row trigger for history tables. TG_ARGV[0] is the entry kind's
-- prefix ("run" gives "run.created", "run.changed"); further arguments
-- name columns left out of the payload (big texts hashed elsewhere). An
-- insert records the row; an update records the changed columns, old and
-- new; an update that changes none of the recorded columns records
-- nothing.
CREATE FUNCTION billrun_audit_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  new_row  jsonb := to_jsonb(NEW);
  old_row  jsonb;
  changed  jsonb;
  entity   text := TG_TABLE_NAME || coalesce('/' || (to_jsonb(NEW) ->> 'id'), '');
  i        int;
BEGIN
  FOR i IN 1 .. TG_NARGS - 1 LOOP
    new_row := new_row - TG_ARGV[i];
  END LOOP;
  IF TG_OP = 'INSERT' THEN
    PERFORM billrun_audit(TG_ARGV[0] || '.created', entity, new_row);
    RETURN NULL;
  END IF;
  old_row := to_jsonb(OLD);
  SELECT jsonb_object_agg(n.key, jsonb_build_object('old', old_row -> n.key, 'new', n.value)) INTO changed
  FROM jsonb_each(new_row) AS n
  WHERE n.value IS DISTINCT FROM old_row -> n.key;
  IF changed IS NOT NULL THEN
    PERFORM billrun_audit(TG_ARGV[0] || '.changed', entity, jsonb_build_object('changed', changed));
  END IF;
  RETURN NULL;
END
$$;

-- Audit a table's inserts (and, with p_updates, its updates) from now on:
-- one entry per row, appended when the transaction commits, so the head
-- lock is held only for the commit. Other migrations call it for their
-- history tables, e.g. SELECT billrun_audit_table('invoices', 'invoice', true);
-- p_omit lists columns not copied into the payload.
CREATE FUNCTION billrun_audit_table(p_table regclass, p_kind text, p_updates boolean,
                                    p_omit text[] DEFAULT '{}') RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  args text := quote_literal(p_kind);
  c    text;
BEGIN
  FOREACH c IN ARRAY p_omit LOOP
    args := args || ', ' || quote_literal(c);
  END LOOP;
  EXECUTE format('CREATE CONSTRAINT TRIGGER %I AFTER INSERT%s ON %s DEFERRABLE INITIALLY DEFERRED '
                 'FOR EACH ROW EXECUTE FUNCTION billrun_audit_row(%s)',
                 'audit_' || p_kind, CASE WHEN p_updates THEN ' OR UPDATE' ELSE '' END, p_table, args);
END
$$;

-- The configuration's checksum: a run records it (runs.config_sha256); an
-- entry of its own marks each run whose config differs from the run
-- before it.
CREATE FUNCTION billrun_audit_config() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  before text;
BEGIN
  SELECT r.config_sha256 INTO before FROM runs r WHERE r.id < NEW.id ORDER BY r.id DESC LIMIT 1;
  IF NOT FOUND OR before IS DISTINCT FROM NEW.config_sha256 THEN
    PERFORM billrun_audit('config.changed', 'runs/' || NEW.id,
                          jsonb_build_object('config_sha256', NEW.config_sha256, 'previous', before));
  END IF;
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER audit_run_config AFTER INSERT ON runs DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION billrun_audit_config();

SELECT billrun_audit_table('rule_versions', 'rule_version', false, '{content}');
SELECT billrun_audit_table('runs', 'run', true);
SELECT billrun_audit_table('step_attempts', 'attempt', true);

-- Quarantined records are audited per file, not per record (a bad file
-- may hold very many, and their raw text can hold personal data, which an
-- audit log that is never pruned must not keep): one entry per statement
-- and file, with the count per reason.
CREATE FUNCTION billrun_audit_quarantine() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  f record;
BEGIN
  FOR f IN SELECT q.file_id, min(q.file_name) AS file_name, count(*) AS records, min(q.id) AS first_id,
                  max(q.id) AS last_id
           FROM new_quarantine q GROUP BY q.file_id ORDER BY q.file_id
  LOOP
    PERFORM billrun_audit('quarantine.created', 'ingest_files/' || f.file_id,
      jsonb_build_object('file_name', f.file_name, 'records', f.records, 'first_id', f.first_id,
                         'last_id', f.last_id,
                         'reasons', (SELECT jsonb_object_agg(r.reason, r.n)
                                     FROM (SELECT q.reason, count(*) AS n FROM new_quarantine q
                                           WHERE q.file_id = f.file_id GROUP BY q.reason) AS r)));
  END LOOP;
  RETURN NULL;
END
$$;

-- Tables of earlier migrations (004 ingest): files ingested, per file;
-- quarantine entries, per file. Later migrations call
-- billrun_audit_table() for their own history tables.
DO $$
BEGIN
  IF to_regclass('ingest_files') IS NOT NULL THEN
    PERFORM billrun_audit_table('ingest_files', 'ingest_file', false);
  END IF;
  IF to_regclass('quarantine_records') IS NOT NULL THEN
    CREATE TRIGGER audit_quarantine AFTER INSERT ON quarantine_records REFERENCING NEW TABLE AS new_quarantine
      FOR EACH STATEMENT EXECUTE FUNCTION billrun_audit_quarantine();
  END IF;
END
$$;

REVOKE ALL ON audit_log, audit_head FROM PUBLIC;
GRANT SELECT, INSERT ON audit_log TO billrun_app;
GRANT SELECT ON audit_log, audit_head TO billrun_app, billrun_auditor;
