-- 055: schema changes (issue 20, item 2). Each file with a usable header
-- keeps it in ingest_files.header (its column names, in order), so that
-- the next file of its source can be compared with the last one accepted.
-- A file whose header differs (a column added, removed, renamed or moved)
-- records the difference in words in schema_change and what was done in
-- schema_action, by the source's `schema_change` setting
-- (jobs/README.md, "Schema changes"):
--   * accepted: the file was read; its added columns were ignored (not
--     read into usage.attributes) and are listed in schema_ignored;
--   * refused: every record of it was quarantined, with reason
--     schema_change (or its own CSV or UTF-8 reason), none was billed.
-- Files ingested before this migration have no header: the first file of
-- a source after it is compared with nothing.
ALTER TABLE ingest_files
  ADD COLUMN header          jsonb CHECK (header IS NULL OR jsonb_typeof(header) = 'array'),
  ADD COLUMN schema_change   text,
  ADD COLUMN schema_action   text CHECK (schema_action IN ('accepted', 'refused')),
  ADD COLUMN schema_ignored  jsonb,
  ADD CHECK ((schema_change IS NULL) = (schema_action IS NULL));

-- The last accepted file of a source is looked up for every file.
CREATE INDEX ingest_files_source ON ingest_files (source, id);

INSERT INTO quarantine_reasons (code, description) VALUES
  ('schema_change', 'the file''s header differs from the last accepted file of its source, and the source refuses schema changes');

-- The warning kind schema_change: one per file whose header changed,
-- accepted or refused (billrun status, the run report, the metrics file).
CREATE OR REPLACE FUNCTION billrun_warning_kinds() RETURNS TABLE (kind text, ord integer)
LANGUAGE sql IMMUTABLE AS $$
  VALUES ('bad_header', 1), ('control_mismatch', 2), ('control_invalid', 3), ('hold', 4), ('drift', 5),
         ('schema_change', 6)
$$;

-- As in 025, with the schema changes: reason is schema_accepted or
-- schema_refused, detail the difference.
CREATE OR REPLACE FUNCTION billrun_run_warnings(p_run bigint)
RETURNS TABLE (kind text, file_name text, account_ext text, period_start date, reason text, detail text)
LANGUAGE sql STABLE AS $$
  SELECT w.kind, w.file_name, w.account_ext, w.period_start, w.reason, w.detail
  FROM (
    SELECT 'bad_header' AS kind, f.file_name, NULL::text AS account_ext, NULL::date AS period_start,
           'bad_header' AS reason, f.header_problem AS detail, f.id AS ord
    FROM ingest_files f WHERE f.run_id = p_run AND f.header_problem IS NOT NULL
    UNION ALL
    SELECT 'control_' || f.control_status, f.file_name, NULL, NULL, 'control_' || f.control_status,
           coalesce(f.control_detail, ''), f.id
    FROM ingest_files f WHERE f.run_id = p_run AND f.control_status IN ('mismatch', 'invalid')
    UNION ALL
    SELECT 'hold', NULL, h.account_ext, h.period_start, h.reason, h.detail, h.id
    FROM account_holds h WHERE h.run_id = p_run
    UNION ALL
    SELECT 'drift', NULL, c.account_ext, NULL, 'drift', c.detail, c.id
    FROM reconciliation_checks c WHERE c.run_id = p_run AND c.check_name = 'drift'
    UNION ALL
    SELECT 'schema_change', f.file_name, NULL, NULL, 'schema_' || f.schema_action, f.schema_change, f.id
    FROM ingest_files f WHERE f.run_id = p_run AND f.schema_change IS NOT NULL
  ) w
  JOIN billrun_warning_kinds() k ON k.kind = w.kind
  ORDER BY k.ord, w.ord
$$;
