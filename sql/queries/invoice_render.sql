-- Rendering issued documents into files, and recording the files
-- (jobs/invoice_render.c; migration 019, jobs/INVOICES.md "Documents and
-- their files"). The documents are read with invoice_doc_headers_unwritten
-- (invoice_show.sql).

-- name: invoice_render_runs
-- The runs whose documents without files the invoice step of run $1
-- writes: its own, and every finished run not known to have all of its
-- documents' files (a run still running writes its own, on resume if it
-- crashed). An array literal.
SELECT '{' || string_agg(r.id::text, ',' ORDER BY r.id) || '}'
FROM runs r
WHERE r.id = $1
   OR (r.status <> 'running' AND NOT EXISTS (SELECT 1 FROM invoice_files_complete c WHERE c.run_id = r.id))

-- name: invoice_render_stage_create
-- What this attempt wrote, as its workers finish: recorded in
-- invoice_files by the step's last transaction only. The session's (a
-- session that ran the step before, as tests do, has it already: it is
-- emptied by invoice_render_stage_clear).
CREATE TEMPORARY TABLE IF NOT EXISTS inv_files (
  doc_table    text NOT NULL,
  document_id  bigint NOT NULL,
  number       text NOT NULL,
  issued_run   bigint NOT NULL,
  json_sha256  text NOT NULL,
  json_bytes   bigint NOT NULL,
  pdf_sha256   text,
  pdf_bytes    bigint,
  focus_sha256 text,
  focus_bytes  bigint,
  ubl_sha256   text,
  ubl_bytes    bigint
)

-- name: invoice_render_stage_clear
TRUNCATE inv_files

-- name: invoice_render_stage
-- The documents of one worker: $1 'invoice' or 'credit_note', then arrays
-- of ids, numbers, issuing runs, the JSON files' SHA-256 and sizes, the
-- PDFs' (NULL without PDF), the FOCUS exports' (NULL without them), the
-- UBL e-invoices' (NULL without them).
INSERT INTO inv_files
SELECT $1, u.id, u.number, u.run, u.js, u.jb, u.ps, u.pb, u.fs, u.fb, u.us, u.ub
FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::text[], $8::bigint[],
            $9::text[], $10::bigint[], $11::text[], $12::bigint[])
  AS u(id, number, run, js, jb, ps, pb, fs, fb, us, ub)

-- name: invoice_render_record
-- Record what this attempt wrote into the folder of run $1 (in the step's
-- last transaction). A document another run recorded meanwhile (two
-- steps writing the same finished run's documents at once) is not
-- recorded twice. Returns the rows recorded, the documents written, and
-- those issued by other runs with those runs' ids.
WITH ins AS (
  INSERT INTO invoice_files (doc_table, document_id, number, run_id, json_file, json_sha256, json_bytes, pdf_file,
                             pdf_sha256, pdf_bytes, focus_file, focus_sha256, focus_bytes, ubl_file, ubl_sha256,
                             ubl_bytes)
  SELECT s.doc_table, s.document_id, s.number, $1, 'invoices/' || s.number || '.json', s.json_sha256, s.json_bytes,
         CASE WHEN s.pdf_sha256 IS NOT NULL THEN 'invoices/' || s.number || '.pdf' END, s.pdf_sha256, s.pdf_bytes,
         CASE WHEN s.focus_sha256 IS NOT NULL THEN 'invoices/' || s.number || '.focus.csv' END, s.focus_sha256,
         s.focus_bytes, CASE WHEN s.ubl_sha256 IS NOT NULL THEN 'invoices/' || s.number || '.xml' END, s.ubl_sha256,
         s.ubl_bytes
  FROM inv_files s
  ON CONFLICT (doc_table, document_id) DO NOTHING
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins), count(*), count(*) FILTER (WHERE issued_run <> $1),
       coalesce(string_agg(DISTINCT issued_run::text, ', ') FILTER (WHERE issued_run <> $1), '')
FROM inv_files

-- name: invoice_render_taken
-- The numbers of documents this attempt wrote whose files another run
-- recorded first ($1 = run): their files here are removed.
SELECT s.number FROM inv_files s
JOIN invoice_files f ON f.doc_table = s.doc_table AND f.document_id = s.document_id
WHERE f.run_id <> $1

-- name: invoice_render_complete
-- Finished runs among $1 (an array) other than $2 that now have the files
-- of every document they issued: later steps need not look at them.
INSERT INTO invoice_files_complete (run_id)
SELECT r.id FROM runs r CROSS JOIN LATERAL billrun_documents_without_files(r.id) m
WHERE r.id = ANY ($1::bigint[]) AND r.id <> $2 AND r.status <> 'running'
  AND m.invoices = 0 AND m.credit_notes = 0
ON CONFLICT (run_id) DO NOTHING

-- name: invoice_run_files
-- For `billrun status`: the documents run $1 issued that have no files
-- yet (invoices, credit notes), and those whose files another run wrote
-- (how many, and which runs).
WITH elsewhere AS (
  SELECT f.run_id FROM invoices i JOIN invoice_files f ON f.doc_table = 'invoice' AND f.document_id = i.id
  WHERE i.run_id = $1 AND f.run_id <> $1
  UNION ALL
  SELECT f.run_id FROM credit_notes c JOIN invoice_files f ON f.doc_table = 'credit_note' AND f.document_id = c.id
  WHERE c.run_id = $1 AND f.run_id <> $1
)
SELECT m.invoices, m.credit_notes, (SELECT count(*) FROM elsewhere),
       coalesce((SELECT string_agg(DISTINCT run_id::text, ', ') FROM elsewhere), '')
FROM billrun_documents_without_files($1::bigint) m
