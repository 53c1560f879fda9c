-- 019: the files of issued documents. A document's number commits in its
-- issuing transaction; its PDF and JSON are drawn afterwards, by worker
-- processes, into the output folder. A full disk or a crash in between
-- leaves a document issued without its files, so what is written is
-- recorded (jobs/INVOICES.md, "Documents and their files"):
--   * invoice_files: per issued document, the files that hold it, with
--     their SHA-256 and size, once they are in place. The rows commit with
--     the invoice step's done mark, in the transaction that has the runner
--     rename the files into place: a document has a row exactly when its
--     files are (or, after a crash, are about to be) under their names;
--   * a document without a row has no files yet: the next invoice step
--     that looks at its run (the run's own when it is resumed, else the
--     next run's) writes them, the same content under the same number,
--     into its own run's output folder;
--   * invoice_files_complete: finished runs known to have every document
--     they issued in invoice_files, so that the step does not look
--     through all documents ever issued to find the few without files.
CREATE TABLE invoice_files (
  doc_table    text NOT NULL CHECK (doc_table IN ('invoice', 'credit_note')),
  document_id  bigint NOT NULL,   -- invoices(id) or credit_notes(id), by doc_table
  number       text NOT NULL,
  run_id       bigint NOT NULL,   -- runs(id): the run whose output folder holds the files
  json_file    text NOT NULL,     -- relative to that folder: invoices/NUMBER.json
  json_sha256  text CHECK (json_sha256 ~ '^[0-9a-f]{64}$'),
  json_bytes   bigint,
  pdf_file     text,              -- invoices/NUMBER.pdf; NULL when invoice.pdf = false
  pdf_sha256   text CHECK (pdf_sha256 ~ '^[0-9a-f]{64}$'),
  pdf_bytes    bigint,
  created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (doc_table, document_id),
  -- Only the rows of documents written before this migration have no
  -- SHA-256 (see below).
  CHECK ((json_sha256 IS NULL) = (json_bytes IS NULL)),
  CHECK (pdf_file IS NOT NULL OR pdf_sha256 IS NULL)
);
CREATE INDEX invoice_files_run ON invoice_files (run_id);

CREATE TABLE invoice_files_complete (
  run_id      bigint PRIMARY KEY,   -- runs(id), finished
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- One row per file, for the archive (a run's bag holds the files of
-- run_id's folder) and for `billrun invoice show`.
CREATE VIEW invoice_document_files AS
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'json'::text AS format, f.json_file AS file,
         f.json_sha256 AS sha256, f.json_bytes AS bytes
  FROM invoice_files f
  UNION ALL
  SELECT f.run_id, f.doc_table, f.document_id, f.number, 'pdf', f.pdf_file, f.pdf_sha256, f.pdf_bytes
  FROM invoice_files f WHERE f.pdf_file IS NOT NULL;

-- The documents run p_run issued that have no files yet (billrun status,
-- and the archive, which must not pack a run whose documents are missing).
CREATE FUNCTION billrun_documents_without_files(p_run bigint, OUT invoices bigint, OUT credit_notes bigint)
LANGUAGE sql STABLE AS $$
  SELECT (SELECT count(*) FROM invoices i WHERE i.run_id = p_run
            AND NOT EXISTS (SELECT 1 FROM invoice_files f WHERE f.doc_table = 'invoice' AND f.document_id = i.id)),
         (SELECT count(*) FROM credit_notes c WHERE c.run_id = p_run
            AND NOT EXISTS (SELECT 1 FROM invoice_files f
                            WHERE f.doc_table = 'credit_note' AND f.document_id = c.id))
$$;

-- Documents issued before this migration: the invoice step wrote the files
-- of every document of its run into the run's invoices/ folder when it
-- succeeded (an earlier version did not record them). Their rows name
-- those files, without SHA-256 or size (not known here; the PDF only
-- presumed: invoice.pdf could have been off). A document of a run whose
-- invoice step did not succeed gets no row: the next invoice step writes
-- its files. The step is recognised by its usual name, 'invoice'; a run
-- that succeeded had every step succeed.
INSERT INTO invoice_files (doc_table, document_id, number, run_id, json_file, pdf_file)
SELECT d.doc_table, d.id, d.number, d.run_id, 'invoices/' || d.number || '.json', 'invoices/' || d.number || '.pdf'
FROM (SELECT 'invoice' AS doc_table, id, number, run_id FROM invoices
      UNION ALL
      SELECT 'credit_note', id, number, run_id FROM credit_notes) d
JOIN runs r ON r.id = d.run_id
WHERE r.status = 'success'
   OR EXISTS (SELECT 1 FROM run_steps s WHERE s.run_id = r.id AND s.step = 'invoice' AND s.status = 'success');

INSERT INTO invoice_files_complete (run_id)
SELECT r.id FROM runs r CROSS JOIN LATERAL billrun_documents_without_files(r.id) m
WHERE r.status <> 'running' AND m.invoices = 0 AND m.credit_notes = 0;

CREATE TRIGGER invoice_files_append_only BEFORE UPDATE OR DELETE ON invoice_files
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER invoice_files_no_truncate BEFORE TRUNCATE ON invoice_files
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER invoice_files_complete_append_only BEFORE UPDATE OR DELETE ON invoice_files_complete
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

REVOKE ALL ON invoice_files, invoice_files_complete FROM PUBLIC;
GRANT SELECT, INSERT ON invoice_files, invoice_files_complete TO billrun_app;
GRANT SELECT ON invoice_files, invoice_files_complete, invoice_document_files TO billrun_app, billrun_auditor;
