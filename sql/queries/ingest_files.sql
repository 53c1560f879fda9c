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
                          started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16::numeric, $17, $18,
        $19::jsonb, $20, $21::timestamptz)

-- name: ingest_file_not_billable
-- Accepted records of file $1 that are counted but not billed.
SELECT count(*) FROM usage WHERE file_id = $1 AND NOT billable

-- name: ingest_file_partials_sql
-- The file's partial sums computed from its usage rows (migration 023),
-- in its own transaction: for files the loader could not sum itself.
INSERT INTO usage_partials SELECT * FROM billrun_file_partials($1::bigint)
