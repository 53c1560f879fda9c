-- The archive step and retention (jobs/archive_step.c).

-- name: archive_run_info
SELECT r.dag, r.period_start::text, r.period_end::text, coalesce(v.sha256, ''), coalesce(r.config_sha256, ''),
       r.host, coalesce(r.rerun_of::text, '')
FROM runs r LEFT JOIN rule_versions v ON v.id = r.rule_version
WHERE r.id = $1

-- name: archive_input_files
-- The files ingested by the runs of the period (the nightly runs of its
-- days and the period's own run), with their counts.
SELECT f.sha256, f.file_name, f.source, f.records_read::text, f.accepted::text, f.quarantined::text,
       f.duplicates::text, r.id::text
FROM ingest_files f JOIN runs r ON r.id = f.run_id
WHERE r.period_start >= $1::date AND r.period_start < $2::date
ORDER BY f.file_name, f.sha256

-- name: archive_insert
INSERT INTO archives (run_id, path, sha256, bytes, payload_files, payload_bytes, signed, audit_head_id,
                      audit_head_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id

-- name: archive_prune_cutoff
-- The instant before which retention removes data, and its date.
SELECT (now() - $1::interval)::text, (now() - $1::interval)::date::text,
       to_char((now() - $1::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')

-- name: archive_prune_select
SELECT a.id, a.path FROM archives a JOIN runs r ON r.id = a.run_id
WHERE r.period_end <= $1::date AND a.pruned_at IS NULL
ORDER BY a.id
FOR UPDATE OF a

-- name: archive_prune_mark
UPDATE archives SET pruned_at = clock_timestamp() WHERE id = $1

-- name: archive_pruned_paths
SELECT path FROM archives WHERE pruned_at IS NOT NULL ORDER BY id

-- name: archive_prune_usage
SELECT billrun_prune_usage($1::timestamptz)
