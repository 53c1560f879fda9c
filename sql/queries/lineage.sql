-- The OpenLineage events of a run (reports/lineage.c, core/LINEAGE.md),
-- composed from what the runner and the steps recorded. $1 is the run.
-- Times are ISO 8601 in UTC with microseconds, so that they sort as text.

-- name: lineage_run
-- The run: DAG, status, period, start and end ('' while it runs), the run
-- it reruns ('' for none) with that run's DAG and start, its output folder.
SELECT r.dag, r.status, r.period_start::text, r.period_end::text,
       to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       coalesce(to_char(r.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''),
       coalesce(r.rerun_of::text, ''), coalesce(o.dag, ''),
       coalesce(to_char(o.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''),
       r.output_dir
FROM runs r LEFT JOIN runs o ON o.id = r.rerun_of
WHERE r.id = $1

-- name: lineage_attempts
-- Every attempt of every step, in the order they started: step, attempt,
-- status, start, end ('' while it runs), message, exit code.
SELECT step, attempt::text, status,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       coalesce(to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), ''),
       coalesce(message, ''), coalesce(exit_code::text, '')
FROM step_attempts WHERE run_id = $1
ORDER BY started_at, id

-- name: lineage_ingest_files
-- The files the run's ingest read: name, SHA-256, size, source, format,
-- counts, and the header as SchemaDatasetFacet fields ('' without one).
SELECT file_name, sha256, size_bytes::text, source, format, records_read::text, accepted::text,
       quarantined::text, duplicates::text,
       coalesce((SELECT '[' || string_agg(format('{"name":%s,"ordinal_position":%s}', to_json(c.name)::text, c.n),
                                          ',' ORDER BY c.n) || ']'
                 FROM jsonb_array_elements_text(header) WITH ORDINALITY AS c(name, n)), '')
FROM ingest_files WHERE run_id = $1
ORDER BY id

-- name: lineage_documents
-- The document files the run's invoice step wrote (migrations 019, 027):
-- path relative to the run's folder, SHA-256 ('' for rows from before
-- 019 kept hashes), size.
SELECT file, coalesce(sha256, ''), coalesce(bytes::text, '')
FROM invoice_document_files WHERE run_id = $1
ORDER BY number, format

-- name: lineage_archives
-- The archives the run's archive step wrote: path, SHA-256, size.
SELECT path, sha256, bytes::text FROM archives WHERE run_id = $1 ORDER BY id
