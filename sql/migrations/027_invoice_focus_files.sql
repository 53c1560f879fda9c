-- 027: the FOCUS 1.1 billing export of each issued document
-- (NUMBER.focus.csv, reports/FOCUS.md) is a third file beside its JSON and
-- PDF, recorded like them in invoice_files (019) with its SHA-256 and
-- size, so that the archive packs it and checks it (invoice_document_files
-- lists it, format 'focus').
--
-- Documents recorded before this migration have no export: their rows
-- keep focus_file NULL, and nothing draws one later (a recorded document
-- is never drawn again). With invoice.focus = false new rows have none
-- either.
ALTER TABLE invoice_files
  ADD COLUMN focus_file   text,   -- invoices/NUMBER.focus.csv; NULL when not written
  ADD COLUMN focus_sha256 text CHECK (focus_sha256 ~ '^[0-9a-f]{64}$'),
  ADD COLUMN focus_bytes  bigint,
  ADD CHECK ((focus_file IS NULL) = (focus_sha256 IS NULL) AND (focus_sha256 IS NULL) = (focus_bytes IS NULL));

CREATE OR REPLACE VIEW invoice_document_files AS
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'json'::text AS format, f.json_file AS file,
         f.json_sha256 AS sha256, f.json_bytes AS bytes
  FROM invoice_files f
  UNION ALL
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'pdf', f.pdf_file, f.pdf_sha256, f.pdf_bytes
  FROM invoice_files f WHERE f.pdf_file IS NOT NULL
  UNION ALL
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'focus', f.focus_file, f.focus_sha256, f.focus_bytes
  FROM invoice_files f WHERE f.focus_file IS NOT NULL;
