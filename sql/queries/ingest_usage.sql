-- Loading usage and quarantine rows (jobs/ingest_load.c), by binary COPY.
-- A file's usage is first COPYed straight into usage under a savepoint;
-- only when that hits a duplicate event key is the file read again into
-- the staging table, from where ON CONFLICT DO NOTHING counts duplicates.

-- name: ingest_usage_copy
COPY usage (usage_id, source, event_key, file_id, line_no, account_ext, meter, event_time, quantity, cost,
            currency, attributes, run_id, billable) FROM STDIN (FORMAT binary)

-- name: ingest_stage_create
CREATE TEMPORARY TABLE IF NOT EXISTS ingest_stage (LIKE usage INCLUDING DEFAULTS) ON COMMIT DELETE ROWS

-- name: ingest_stage_copy
COPY ingest_stage (usage_id, source, event_key, file_id, line_no, account_ext, meter, event_time, quantity,
                   cost, currency, attributes, run_id, billable) FROM STDIN (FORMAT binary)

-- name: ingest_stage_insert
-- The first occurrence of a key (in file order) wins; the rest are the
-- duplicates: staged rows minus rows inserted.
INSERT INTO usage (usage_id, source, event_key, file_id, line_no, account_ext, meter, event_time, quantity,
                   cost, currency, attributes, run_id, billable)
SELECT usage_id, source, event_key, file_id, line_no, account_ext, meter, event_time, quantity, cost,
       currency, attributes, run_id, billable
FROM ingest_stage ORDER BY usage_id
ON CONFLICT (source, event_key) DO NOTHING

-- name: ingest_stage_clear
TRUNCATE ingest_stage

-- name: ingest_quarantine_copy
COPY quarantine_records (run_id, source, file_id, file_name, line_no, raw, raw_bytes, raw_truncated, reason,
                         message, account_ext) FROM STDIN (FORMAT binary)

-- name: ingest_usage_blocks
-- $1 blocks of 65536 usage ids (their first ids); the blocks need not be
-- consecutive. Reserved before a COPY, as nothing else can run during one.
SELECT nextval('usage_id_blocks') FROM generate_series(1, $1::int)
