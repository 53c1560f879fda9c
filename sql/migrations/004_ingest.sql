-- 004: ingest: the files read from the spool, the usage records they held,
-- and the records quarantined. All three are append-only for the
-- application role: it may only read and insert.
--
-- Conservation: for every file, records_read = accepted + quarantined +
-- duplicates (a CHECK), so nothing read is ever unaccounted for.

-- The reason codes a record can be quarantined with; jobs/reader.c has the
-- same table (a test keeps the two equal) and jobs/README.md explains them.
CREATE TABLE quarantine_reasons (
  code         text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
  description  text NOT NULL
);
INSERT INTO quarantine_reasons (code, description) VALUES
  ('malformed_csv', 'the record breaks RFC 4180 quoting (a stray or unterminated quote)'),
  ('wrong_column_count', 'the record has not as many fields as the header or the format'),
  ('record_too_long', 'the record is longer than the record limit; raw holds its beginning'),
  ('field_too_long', 'a field is longer than ingest.max_field_length'),
  ('invalid_utf8', 'the record is not valid UTF-8 or holds a NUL byte; raw_bytes holds it exactly'),
  ('bad_header', 'the file''s header lacks a required column, so no record of it can be read'),
  ('missing_field', 'a required field is empty or NULL'),
  ('bad_number', 'a quantity or amount is not a decimal number'),
  ('negative_quantity', 'the quantity is below zero and the meter allows no credits'),
  ('bad_timestamp', 'the time is not a valid ISO 8601 date and time (with an offset or Z where required)'),
  ('timestamp_out_of_range', 'the time is outside [ingest.time_min, ingest.time_max)'),
  ('unknown_account', 'no version of the account exists in table accounts'),
  ('unknown_meter', 'the meter is not declared in the rate card (table meters)'),
  ('bad_json', 'a JSON field (FOCUS Tags) is not a JSON object'),
  ('bad_currency', 'the currency is not a three-letter upper-case code');

-- One row per data file ingested, written last in the file's transaction
-- with its final counts. A file is ingested once: sha256 is unique.
CREATE SEQUENCE ingest_files_id_seq;
CREATE TABLE ingest_files (
  id              bigint PRIMARY KEY DEFAULT nextval('ingest_files_id_seq'),
  run_id          bigint NOT NULL REFERENCES runs(id),
  source          text NOT NULL,
  format          text NOT NULL CHECK (format IN ('usage-csv', 'focus', 'asterisk-cdr')),
  file_name       text NOT NULL,          -- its name in the spool
  sha256          text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size_bytes      bigint NOT NULL CHECK (size_bytes >= 0),
  records_read    bigint NOT NULL CHECK (records_read >= 0),
  accepted        bigint NOT NULL CHECK (accepted >= 0),     -- rows in usage
  quarantined     bigint NOT NULL CHECK (quarantined >= 0),  -- rows in quarantine_records
  duplicates      bigint NOT NULL CHECK (duplicates >= 0),   -- event key seen before: not inserted
  not_billable    bigint NOT NULL DEFAULT 0 CHECK (not_billable >= 0 AND not_billable <= accepted),
  blank_lines     bigint NOT NULL DEFAULT 0,                 -- empty lines: not records
  header_problem  text,                   -- why no record could be read (all bad_header)
  -- What was read, for control files and reconciliation: the quantity
  -- total per meter and the cost total of every record read that had one
  -- (accepted, quarantined or duplicate), as exact decimal strings.
  read_totals     jsonb NOT NULL DEFAULT '{}',
  read_cost       numeric,
  -- The optional control file FILE.ctl and how it compared.
  control_file    text,
  control_status  text NOT NULL DEFAULT 'absent'
                  CHECK (control_status IN ('absent', 'match', 'mismatch', 'invalid')),
  control         jsonb,                  -- what it stated
  control_detail  text,                   -- the differences, or why it could not be read
  started_at      timestamptz NOT NULL,
  ingested_at     timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (records_read = accepted + quarantined + duplicates),
  CHECK ((control_status = 'absent') = (control_file IS NULL))
);
ALTER SEQUENCE ingest_files_id_seq OWNED BY ingest_files.id;
CREATE INDEX ingest_files_size ON ingest_files (size_bytes);
CREATE INDEX ingest_files_run ON ingest_files (run_id);
CREATE TRIGGER ingest_files_append_only BEFORE UPDATE OR DELETE ON ingest_files
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- Usage: one row per accepted record.
--
-- Loading speed is set by what each row costs besides the heap. Measured
-- (server CPU, 2,000,000 rows by binary COPY): heap alone 5.3 s; the
-- deduplication b-tree on ascending keys +5.7 s; a BRIN index +1.1 s; a
-- b-tree on (account_ext, event_time), whose keys arrive in random order,
-- +14 s; a foreign key (a trigger call per row) +27 s. So usage has one
-- b-tree, the deduplication key under the "C" collation (byte order, no
-- locale rules; senders' keys mostly ascend, so inserts land at the right
-- edge), with event_key first: comparisons are settled by the first
-- column, which measured 1.5 s cheaper than (source, event_key) and finds
-- an event by its key alone. Besides it: a BRIN index on file_id (rows
-- arrive in file order; reconcile reads a run's files through it), and no
-- row triggers or foreign keys. A step that needs another access path
-- adds it in its own migration and pays for it at ingest.
--
-- Integrity kept by construction rather than by per-row checks:
--   usage_id  unique: taken in blocks of 65536 from usage_id_blocks (one
--             nextval per block), never updated (trigger below);
--   file_id   names the ingest_files row written in the same transaction;
--   run_id    the run whose ingest step loaded the row.
CREATE SEQUENCE usage_id_blocks INCREMENT BY 65536 START WITH 1;
CREATE TABLE usage (
  usage_id     bigint NOT NULL DEFAULT nextval('usage_id_blocks'),
  source       text COLLATE "C" NOT NULL,
  event_key    text COLLATE "C" NOT NULL,
  file_id      bigint NOT NULL,        -- ingest_files(id)
  line_no      integer NOT NULL,       -- physical line the record starts on
  account_ext  text NOT NULL,          -- accounts.external_id
  meter        text NOT NULL,          -- meters.name
  event_time   timestamptz NOT NULL,
  quantity     numeric NOT NULL,
  cost         numeric,                -- FOCUS BilledCost
  currency     text,                   -- FOCUS BillingCurrency
  attributes   jsonb,                  -- the record's other columns
  run_id       bigint NOT NULL,        -- runs(id)
  billable     boolean NOT NULL DEFAULT true,  -- false: counted, never billed (unanswered calls)
  CONSTRAINT usage_event_key UNIQUE (event_key, source)   -- the rule: (source, event_key) once
);
CREATE INDEX usage_file_brin ON usage USING brin (file_id);
CREATE TRIGGER usage_append_only BEFORE UPDATE OR DELETE ON usage
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER usage_no_truncate BEFORE TRUNCATE ON usage
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();

-- Records that could not be accepted, with everything needed to fix and
-- release them: where they came from, their raw text and why.
CREATE TABLE quarantine_records (
  id             bigserial PRIMARY KEY,
  run_id         bigint NOT NULL,      -- runs(id)
  source         text NOT NULL,
  file_id        bigint NOT NULL,      -- ingest_files(id), same transaction
  file_name      text NOT NULL,
  line_no        integer NOT NULL,
  raw            text NOT NULL,        -- the record as in the file (invalid bytes as \xNN)
  raw_bytes      bytea,                -- the exact bytes, when raw had to escape some
  raw_truncated  boolean NOT NULL DEFAULT false,
  reason         text NOT NULL REFERENCES quarantine_reasons(code),
  message        text NOT NULL,
  account_ext    text,                 -- when it could be read
  created_at     timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE quarantine_records_id_seq CACHE 64;
CREATE INDEX quarantine_records_file ON quarantine_records (file_id);
CREATE INDEX quarantine_records_run ON quarantine_records (run_id);
CREATE INDEX quarantine_records_account ON quarantine_records (account_ext);

GRANT SELECT ON quarantine_reasons, ingest_files, usage, quarantine_records TO billrun_app, billrun_auditor;
GRANT INSERT ON ingest_files, usage, quarantine_records TO billrun_app;
GRANT USAGE ON SEQUENCE ingest_files_id_seq, usage_id_blocks, quarantine_records_id_seq TO billrun_app;
