-- The archive step and retention (jobs/archive_step.c).

-- name: archive_run_info
SELECT r.dag, r.period_start::text, r.period_end::text, coalesce(v.sha256, ''), coalesce(r.config_sha256, ''),
       r.host, coalesce(r.rerun_of::text, ''), r.output_dir
FROM runs r LEFT JOIN rule_versions v ON v.id = r.rule_version
WHERE r.id = $1

-- name: archive_runs_unarchived
-- Earlier runs of DAG $1 and period $2 (before run $3) that have ended,
-- had the archive step $4 and have no archive: that step failed, and the
-- archive step of a later run (or of a rerun) makes their archives.
SELECT r.id::text FROM runs r
WHERE r.dag = $1 AND r.period_start = $2::date AND r.id < $3::bigint AND r.status <> 'running'
  AND EXISTS (SELECT 1 FROM run_steps s WHERE s.run_id = r.id AND s.step = $4)
  AND NOT EXISTS (SELECT 1 FROM archives a WHERE a.run_id = r.id)
ORDER BY r.id

-- name: archive_expected_documents
-- The document files run $1 issued, which its archive must hold: the
-- document's number, its path in the bag (under data/), its file, and its
-- SHA-256 ('' when not recorded). A document's files are where the invoice
-- step that wrote them recorded them (invoice_files: the issuing run's
-- folder, or a later run's when a full disk or a crash left them to the
-- next invoice step; jobs/INVOICES.md, "Documents and their files"):
-- NUMBER.json, and NUMBER.pdf, NUMBER.focus.csv (the FOCUS export, 027)
-- and NUMBER.xml (the UBL e-invoice, 046) where they were recorded. A document without files yet is
-- expected under the issuing run's invoices/ folder, NUMBER.json and,
-- when $2 (invoice.pdf), NUMBER.pdf: not there, it stops the archive.
-- (Its FOCUS export is not asked for: the JSON is missing already, and
-- documents recorded before 027 have none.)
SELECT d.number, 'output/invoices/' || d.number || '.' || x.ext,
       coalesce(w.output_dir || '/' || CASE x.ext WHEN 'json' THEN f.json_file WHEN 'pdf' THEN f.pdf_file
                                                  WHEN 'xml' THEN f.ubl_file ELSE f.focus_file END,
                o.output_dir || '/invoices/' || d.number || '.' || x.ext),
       coalesce(CASE x.ext WHEN 'json' THEN f.json_sha256 WHEN 'pdf' THEN f.pdf_sha256 WHEN 'xml' THEN f.ubl_sha256
                           ELSE f.focus_sha256 END, '')
FROM invoice_documents d
JOIN runs o ON o.id = d.run_id
CROSS JOIN (VALUES ('json'), ('pdf'), ('focus.csv'), ('xml')) x(ext)
LEFT JOIN invoice_files f
  ON f.doc_table = CASE d.doc WHEN 'credit_note' THEN 'credit_note' ELSE 'invoice' END AND f.document_id = d.id
LEFT JOIN runs w ON w.id = f.run_id
WHERE d.run_id = $1::bigint
  AND CASE x.ext WHEN 'json' THEN true
                 WHEN 'pdf' THEN CASE WHEN f.document_id IS NULL THEN $2::boolean ELSE f.pdf_file IS NOT NULL END
                 WHEN 'xml' THEN f.ubl_file IS NOT NULL
                 ELSE f.focus_file IS NOT NULL END
ORDER BY ('output/invoices/' || d.number || '.' || x.ext) COLLATE "C"

-- name: archive_no_documents
-- The columns of archive_expected_documents without rows: a schema
-- without invoices.
SELECT ''::text, ''::text, ''::text, ''::text WHERE false

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
