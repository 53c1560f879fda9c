-- The ingest step's bookkeeping (jobs/ingest.c): files, accounts, ids.

-- name: ingest_accounts_known
-- External ids with a current or past version: a record's account is
-- known when one exists.
SELECT DISTINCT external_id FROM accounts WHERE valid_from <= now()

-- name: ingest_file_next_id
SELECT nextval('ingest_files_id_seq')

-- name: ingest_file_by_sha
SELECT id, file_name, run_id FROM ingest_files WHERE sha256 = $1

-- name: ingest_file_size_seen
-- Could a file of this size ($1 bytes) have been ingested before? Only
-- then is it hashed before reading (otherwise the hash is taken while
-- reading, in the same pass).
SELECT EXISTS (SELECT 1 FROM ingest_files WHERE size_bytes = $1)

-- name: ingest_file_insert
INSERT INTO ingest_files (id, run_id, source, format, file_name, sha256, size_bytes, records_read,
                          accepted, quarantined, duplicates, not_billable, blank_lines, header_problem,
                          read_totals, read_cost, control_file, control_status, control, control_detail,
                          started_at, header, schema_change, schema_action, schema_ignored)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16::numeric, $17, $18,
        $19::jsonb, $20, $21::timestamptz, $22::jsonb, $23, $24, $25::jsonb)

-- name: ingest_source_header
-- The header of the last accepted file of source $1 (migration 055): one
-- row per column, in order, each with that file's name. Accepted: it had
-- a usable header (no header problem) and was not refused for a schema
-- change. No rows: the source has no such file yet.
SELECT f.file_name, c.name
FROM (SELECT file_name, header FROM ingest_files
      WHERE source = $1 AND header IS NOT NULL AND header_problem IS NULL
        AND schema_action IS DISTINCT FROM 'refused'
      ORDER BY id DESC LIMIT 1) f
CROSS JOIN LATERAL jsonb_array_elements_text(f.header) WITH ORDINALITY AS c(name, n)
ORDER BY c.n

-- name: ingest_file_not_billable
-- Accepted records of file $1 that are counted but not billed.
SELECT count(*) FROM usage WHERE file_id = $1 AND NOT billable

-- name: ingest_file_partials_sql
-- The file's partial sums computed from its usage rows (migration 023),
-- in its own transaction: for files the loader could not sum itself.
INSERT INTO usage_partials SELECT * FROM billrun_file_partials($1::bigint)

-- name: ingest_partial_meters
-- The meters' per-record rounding, for the loader's partial sums (jobs/partials.c).
SELECT name, round_increment::text FROM meters

-- name: ingest_partial_periods
-- The billing periods of every account with a version that has begun,
-- around the run's period ($1 .. $2, local dates): the loader puts each
-- record in one of them (jobs/partials.c). Times as microseconds since
-- 1970-01-01 UTC.
SELECT a.external_id,
       (extract(epoch FROM p.start_at) * 1000000)::bigint, (extract(epoch FROM p.end_at) * 1000000)::bigint
FROM (SELECT DISTINCT external_id FROM accounts WHERE valid_from <= now()) a
CROSS JOIN LATERAL billing_periods(a.external_id, ($1::date - 40)::timestamp AT TIME ZONE 'UTC',
                                   ($2::date + 2)::timestamp AT TIME ZONE 'UTC') p
ORDER BY a.external_id, p.start_at

-- name: ingest_partials_copy
COPY usage_partials (file_id, run_id, account_ext, meter, category, period_start, first_event, last_event, records,
                     billable, max_usage_id, round_increment, quantity, quantity_rounded, rounded_max, latest_time,
                     latest_usage_id, latest_rounded, cost, cost_records, currency_min, currency_max)
FROM STDIN (FORMAT binary)
