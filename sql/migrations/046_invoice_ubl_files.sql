-- 046: the UBL 2.1 e-invoice of each issued document (NUMBER.xml: an
-- Invoice, or a CreditNote for a credit note, to the Peppol BIS Billing
-- 3.0 profile of EN 16931; reports/invoice_ubl.h) is a file beside its
-- JSON, PDF and FOCUS export, recorded like them in invoice_files (019,
-- 027) with its SHA-256 and size, so that the archive packs and checks it
-- (invoice_document_files lists it, format 'ubl').
--
-- Documents recorded before this migration have no e-invoice: their rows
-- keep ubl_file NULL, and nothing draws one later (a recorded document is
-- never drawn again). With invoice.ubl = false new rows have none either.
ALTER TABLE invoice_files
  ADD COLUMN ubl_file   text,   -- invoices/NUMBER.xml; NULL when not written
  ADD COLUMN ubl_sha256 text CHECK (ubl_sha256 ~ '^[0-9a-f]{64}$'),
  ADD COLUMN ubl_bytes  bigint,
  ADD CHECK ((ubl_file IS NULL) = (ubl_sha256 IS NULL) AND (ubl_sha256 IS NULL) = (ubl_bytes IS NULL));

CREATE OR REPLACE VIEW invoice_document_files AS
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'json'::text AS format, f.json_file AS file,
         f.json_sha256 AS sha256, f.json_bytes AS bytes
  FROM invoice_files f
  UNION ALL
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'pdf', f.pdf_file, f.pdf_sha256, f.pdf_bytes
  FROM invoice_files f WHERE f.pdf_file IS NOT NULL
  UNION ALL
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'focus', f.focus_file, f.focus_sha256, f.focus_bytes
  FROM invoice_files f WHERE f.focus_file IS NOT NULL
  UNION ALL
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'ubl', f.ubl_file, f.ubl_sha256, f.ubl_bytes
  FROM invoice_files f WHERE f.ubl_file IS NOT NULL;
