-- Reading issued documents: for rendering them (jobs/invoice.c) and for
-- `billrun invoice show|trace|list` (cmd/cmd_invoice.c). The header
-- statements all return the columns jobs/invoice_doc.c names (H_...).

-- name: invoice_doc_headers_unwritten
-- Documents without files (invoice_files, migration 019) issued by the
-- runs $1 (an array): $2 = 'invoice' (invoices and supplementary
-- invoices) or 'credit_note'; ids above $3, the first $4 by id.
SELECT d.doc, d.id, d.number, d.series, d.issue_date::text, coalesce(d.due_date::text, ''),
       to_char(d.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), d.account_ext,
       d.period_local_start::text, (d.period_local_end - 1)::text, d.currency, d.subtotal::text, d.tax_total::text,
       d.total::text, d.run_id, coalesce(d.rule_version::text, ''), coalesce(v.sha256, ''), coalesce(d.ref_kind, ''),
       coalesce(r.number, ''), coalesce(d.reason, ''), coalesce(d.seller ->> 'name', ''),
       CASE WHEN jsonb_typeof(d.seller -> 'address') = 'array'
            THEN array_to_string(ARRAY(SELECT jsonb_array_elements_text(d.seller -> 'address')), E'\n')
            ELSE '' END,
       coalesce(d.seller ->> 'vat_id', ''), coalesce(d.seller ->> 'email', ''), coalesce(d.seller ->> 'payment', ''),
       coalesce(d.customer ->> 'name', ''), coalesce(d.customer ->> 'email', ''),
       coalesce(d.customer ->> 'tax_jurisdiction', ''), coalesce(d.customer ->> 'cost_centre', ''),
       d.seller::text, d.customer::text, d.rating_id, coalesce(o.output_dir, '')
       -- The parties' structured fields (045; '' on documents issued
       -- before it), and whether the buyer accounts for the VAT (reverse
       -- charge: a B2B buyer with a VAT id in another EU member state
       -- than the seller's, billed no tax).
       , coalesce(d.seller ->> 'street', ''), coalesce(d.seller ->> 'city', ''),
       coalesce(d.seller ->> 'postcode', ''), coalesce(d.seller ->> 'country', ''),
       coalesce(d.seller ->> 'company_id', ''), coalesce(d.seller ->> 'contact', ''),
       coalesce(d.seller ->> 'phone', ''), coalesce(d.seller ->> 'endpoint', ''),
       coalesce(d.seller ->> 'iban', ''), coalesce(d.seller ->> 'bic', ''),
       coalesce(d.customer ->> 'address_line1', ''), coalesce(d.customer ->> 'address_line2', ''),
       coalesce(d.customer ->> 'city', ''), coalesce(d.customer ->> 'postcode', ''),
       coalesce(d.customer ->> 'country', ''), coalesce(d.customer ->> 'vat_id', ''),
       coalesce(d.customer ->> 'endpoint', ''), coalesce(d.customer ->> 'b2b', 'false') = 'true',
       coalesce(d.customer ->> 'b2b', 'false') = 'true' AND billrun_eu_country(d.customer ->> 'country')
         AND coalesce(d.customer ->> 'vat_id', '') <> '' AND coalesce(d.seller ->> 'country', '') <> ''
         AND d.customer ->> 'country' <> d.seller ->> 'country' AND d.tax_total = 0
FROM invoice_documents d
LEFT JOIN rule_versions v ON v.id = d.rule_version
LEFT JOIN invoices r ON r.id = d.ref_id
LEFT JOIN runs o ON o.id = d.run_id
WHERE d.run_id = ANY ($1::bigint[]) AND (d.doc = 'credit_note') = ($2 = 'credit_note') AND d.id > $3::bigint
  AND NOT EXISTS (SELECT 1 FROM invoice_files f WHERE f.doc_table = $2 AND f.document_id = d.id)
ORDER BY d.id
LIMIT $4

-- name: invoice_doc_header_number
-- The document numbered $1 (an invoice or a credit note). Its output
-- folder is the one holding its files: the run's that wrote them
-- (invoice_files), else the issuing run's.
SELECT d.doc, d.id, d.number, d.series, d.issue_date::text, coalesce(d.due_date::text, ''),
       to_char(d.issued_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), d.account_ext,
       d.period_local_start::text, (d.period_local_end - 1)::text, d.currency, d.subtotal::text, d.tax_total::text,
       d.total::text, d.run_id, coalesce(d.rule_version::text, ''), coalesce(v.sha256, ''), coalesce(d.ref_kind, ''),
       coalesce(r.number, ''), coalesce(d.reason, ''), coalesce(d.seller ->> 'name', ''),
       CASE WHEN jsonb_typeof(d.seller -> 'address') = 'array'
            THEN array_to_string(ARRAY(SELECT jsonb_array_elements_text(d.seller -> 'address')), E'\n')
            ELSE '' END,
       coalesce(d.seller ->> 'vat_id', ''), coalesce(d.seller ->> 'email', ''), coalesce(d.seller ->> 'payment', ''),
       coalesce(d.customer ->> 'name', ''), coalesce(d.customer ->> 'email', ''),
       coalesce(d.customer ->> 'tax_jurisdiction', ''), coalesce(d.customer ->> 'cost_centre', ''),
       d.seller::text, d.customer::text, d.rating_id, coalesce(w.output_dir, o.output_dir, '')
       -- The parties' structured fields (045; '' on documents issued
       -- before it), and whether the buyer accounts for the VAT (reverse
       -- charge: a B2B buyer with a VAT id in another EU member state
       -- than the seller's, billed no tax).
       , coalesce(d.seller ->> 'street', ''), coalesce(d.seller ->> 'city', ''),
       coalesce(d.seller ->> 'postcode', ''), coalesce(d.seller ->> 'country', ''),
       coalesce(d.seller ->> 'company_id', ''), coalesce(d.seller ->> 'contact', ''),
       coalesce(d.seller ->> 'phone', ''), coalesce(d.seller ->> 'endpoint', ''),
       coalesce(d.seller ->> 'iban', ''), coalesce(d.seller ->> 'bic', ''),
       coalesce(d.customer ->> 'address_line1', ''), coalesce(d.customer ->> 'address_line2', ''),
       coalesce(d.customer ->> 'city', ''), coalesce(d.customer ->> 'postcode', ''),
       coalesce(d.customer ->> 'country', ''), coalesce(d.customer ->> 'vat_id', ''),
       coalesce(d.customer ->> 'endpoint', ''), coalesce(d.customer ->> 'b2b', 'false') = 'true',
       coalesce(d.customer ->> 'b2b', 'false') = 'true' AND billrun_eu_country(d.customer ->> 'country')
         AND coalesce(d.customer ->> 'vat_id', '') <> '' AND coalesce(d.seller ->> 'country', '') <> ''
         AND d.customer ->> 'country' <> d.seller ->> 'country' AND d.tax_total = 0
FROM invoice_documents d
LEFT JOIN rule_versions v ON v.id = d.rule_version
LEFT JOIN invoices r ON r.id = d.ref_id
LEFT JOIN runs o ON o.id = d.run_id
LEFT JOIN invoice_files f ON f.doc_table = CASE WHEN d.doc = 'credit_note' THEN 'credit_note' ELSE 'invoice' END
                         AND f.document_id = d.id
LEFT JOIN runs w ON w.id = f.run_id
WHERE d.number = $1

-- name: invoice_doc_lines
-- The lines of the documents $2 (an array of ids) of kind $1 ('invoice' or
-- 'credit_note'), in document and line order, with the words the rated
-- line behind each keeps (migration 026): the label (else the meter's or
-- the charge's name), the unit, show_zero, the model, the free units used,
-- a package charge's size and packages, and whether the line is a
-- difference (its words are the re-rated period's).
SELECT l.document_id, l.line_no, l.kind, l.adjustment, l.period_local_start::text, l.description,
       coalesce(trim_scale(l.quantity)::text, ''), l.amount::text, coalesce(trim_scale(l.tax_rate)::text, ''),
       coalesce(l.tax_base::text, ''), coalesce(l.meter, ''), coalesce(l.charge, ''), coalesce(l.plan, ''),
       coalesce(trim_scale(l.fx_rate)::text, ''), coalesce(l.price_currency, ''),
       coalesce(l.amount_price_currency::text, ''), coalesce(l.fx_as_of::text, ''), l.rating_id,
       coalesce(l.rated_line_id::text, ''), coalesce(trim_scale(l.billable_quantity)::text, ''),
       coalesce(nullif(w.detail ->> 'label', ''), l.meter, l.charge, ''), coalesce(w.detail ->> 'unit', ''),
       coalesce(w.detail ->> 'show_zero', '') = 'yes', coalesce(l.model, ''),
       coalesce(trim_scale((w.detail ->> 'free')::numeric)::text, ''),
       coalesce(trim_scale((w.detail ->> 'package_size')::numeric)::text, ''),
       coalesce(trim_scale((w.detail ->> 'packages')::numeric)::text, ''),
       l.rated_line_id IS NULL AND l.kind = 'usage', coalesce(l.tax_group, '')
FROM invoice_document_lines l
LEFT JOIN LATERAL (SELECT billrun_invoice_line_rated_detail(l.rated_line_id, l.rating_id, l.line_key) AS detail) w
  ON l.kind = 'usage'
WHERE l.doc_table = $1 AND l.document_id = ANY ($2::bigint[])
ORDER BY l.document_id, l.line_no

-- name: invoice_doc_line_steps
-- The pricing steps of the usage lines of invoice_doc_lines' documents
-- (same parameters), in document, line and step order: the tier (0 for
-- untiered models), the units above `from` up to `to` ('' = unbounded)
-- priced in it, the price and a flat fee as the rate card writes them, the
-- exact amount; as the rated line behind the line keeps them (jobs/rate.c).
SELECT l.document_id, l.line_no, coalesce(s.step ->> 'tier', '0'),
       trim_scale((s.step ->> 'from')::numeric)::text, coalesce(trim_scale((s.step ->> 'to')::numeric)::text, ''),
       trim_scale((s.step ->> 'units')::numeric)::text, s.step ->> 'price', s.step ->> 'flat',
       s.step ->> 'amount'
FROM invoice_document_lines l
CROSS JOIN LATERAL jsonb_array_elements(
  coalesce(billrun_invoice_line_rated_detail(l.rated_line_id, l.rating_id, l.line_key) -> 'steps', '[]'))
  WITH ORDINALITY AS s(step, ord)
WHERE l.doc_table = $1 AND l.document_id = ANY ($2::bigint[]) AND l.kind = 'usage'
ORDER BY l.document_id, l.line_no, s.ord

-- name: invoice_doc_related
-- Documents that refer to the invoice numbered $1: its credit notes, its
-- supplementary invoices, the invoice that replaces it.
SELECT d.doc, d.number, d.ref_kind, d.total::text, d.currency, d.issue_date::text, coalesce(d.reason, '')
FROM invoice_documents d
JOIN invoices o ON o.id = d.ref_id
WHERE o.number = $1
ORDER BY d.issued_at, d.number

-- name: invoice_doc_adjusted_by
-- Invoices carrying adjustment lines for the period of document $1.
SELECT DISTINCT i.number, l.period_local_start::text
FROM invoice_documents d
JOIN invoices i ON i.account_ext = d.account_ext
JOIN invoice_lines l ON l.invoice_id = i.id AND l.period_local_start = d.period_local_start AND l.adjustment
WHERE d.number = $1
ORDER BY 1

-- name: invoice_list
-- Documents, newest first: $1 account or NULL, $2 run or NULL, $3 a date
-- inside the billing period or NULL, $4 at most this many.
SELECT d.doc, d.number, d.account_ext, d.period_local_start::text, (d.period_local_end - 1)::text, d.currency,
       d.total::text, d.issue_date::text, d.run_id, coalesce(r.number, ''), coalesce(d.ref_kind, '')
FROM invoice_documents d
LEFT JOIN invoices r ON r.id = d.ref_id
WHERE ($1::text IS NULL OR d.account_ext = $1)
  AND ($2::bigint IS NULL OR d.run_id = $2)
  AND ($3::date IS NULL OR ($3::date >= d.period_local_start AND $3::date < d.period_local_end))
ORDER BY d.issued_at DESC, d.number DESC
LIMIT $4

-- name: invoice_list_drafts
-- Drafts not issued yet, with their totals so far.
SELECT d.doc, d.account_ext, d.period_local_start::text, (d.period_local_end - 1)::text, d.currency,
       (coalesce((SELECT sum(l.amount) FROM invoice_draft_lines l WHERE l.draft_id = d.id), 0)
        + CASE WHEN d.doc = 'invoice'
               THEN coalesce((SELECT sum(l.amount) FROM rated_lines l WHERE l.rating_id = d.rating_id), 0)
               ELSE 0 END)::text, d.run_id
FROM invoice_drafts d
WHERE ($1::text IS NULL OR d.account_ext = $1)
ORDER BY d.account_ext, d.period_local_start, d.id
LIMIT $2

-- name: invoice_trace_lines
-- The lines of document $1 (number) to trace: $2 one line number or NULL
-- for all. Returns line, kind, meter, description, quantity, amount,
-- whether it is a difference (no rated line behind it), the snapshot's
-- usage records and time zone.
SELECT l.line_no, l.kind, coalesce(l.meter, ''), l.description, coalesce(trim_scale(l.quantity)::text, ''),
       l.amount::text, l.rated_line_id IS NULL AND d.doc <> 'credit_note', s.usage_records, s.time_zone,
       l.period_local_start::text, l.adjustment, coalesce(l.charge, ''), coalesce(l.plan, '')
FROM invoice_documents d
JOIN invoice_document_lines l ON l.doc_table = CASE WHEN d.doc = 'credit_note' THEN 'credit_note' ELSE 'invoice' END
                              AND l.document_id = d.id
JOIN ratings r ON r.id = l.rating_id
JOIN agg_snapshots s ON s.id = r.snapshot_id
WHERE d.number = $1 AND ($2::int IS NULL OR l.line_no = $2)
ORDER BY l.line_no

-- name: invoice_trace_records
-- The usage records behind line $2 of document $1 (number): the billable
-- records of its meter in its period that its rating's snapshot
-- aggregated (usage ids up to the snapshot's usage_max_id; only the
-- charge categories the meter counts, billrun_meter_counts of 017), in the
-- account's local time, with the file and line each came from. "late":
-- the record was not in the snapshots the period's earlier documents were
-- rated from. For a difference (a supplementary or adjustment line) only
-- the late records are behind it.
WITH doc AS (
  SELECT d.doc, d.id, d.issued_at FROM invoice_documents d WHERE d.number = $1
), line AS (
  SELECT l.*, l.rated_line_id IS NULL AND doc.doc <> 'credit_note' AS difference
  FROM doc
  JOIN invoice_document_lines l ON l.doc_table = CASE WHEN doc.doc = 'credit_note' THEN 'credit_note' ELSE 'invoice' END
                                AND l.document_id = doc.id
  WHERE l.line_no = $2::int AND l.kind = 'usage' AND l.meter IS NOT NULL
), snap AS (
  SELECT line.meter, line.difference, s.account_ext, s.period_start, s.period_end, s.time_zone, s.usage_max_id
  FROM line JOIN ratings r ON r.id = line.rating_id JOIN agg_snapshots s ON s.id = r.snapshot_id
), earlier AS (
  SELECT max(s2.usage_max_id) AS max_id
  FROM line
  JOIN invoice_documents od ON od.account_ext = line.account_ext AND od.issued_at < (SELECT issued_at FROM doc)
  JOIN invoice_document_lines o ON o.document_id = od.id AND (od.doc = 'credit_note') = (o.doc_table = 'credit_note')
                                AND o.period_local_start = line.period_local_start AND o.rating_id <> line.rating_id
  JOIN ratings r2 ON r2.id = o.rating_id
  JOIN agg_snapshots s2 ON s2.id = r2.snapshot_id
)
SELECT u.usage_id, to_char(u.event_time AT TIME ZONE snap.time_zone, 'YYYY-MM-DD HH24:MI:SS'), u.meter,
       u.quantity::text, coalesce(f.file_name, ''), u.file_id, u.line_no, u.source, u.event_key,
       coalesce(u.usage_id > (SELECT max_id FROM earlier), false)
FROM snap
JOIN usage u ON u.account_ext = snap.account_ext AND u.event_time >= snap.period_start
            AND u.event_time < snap.period_end AND u.meter = snap.meter AND u.billable
            AND (snap.usage_max_id IS NULL OR u.usage_id <= snap.usage_max_id)
LEFT JOIN meters m ON m.name = u.meter
LEFT JOIN ingest_files f ON f.id = u.file_id
WHERE (NOT snap.difference OR u.usage_id > coalesce((SELECT max_id FROM earlier), 0))
  AND billrun_meter_counts(m.charge_categories, u.cost, u.attributes)
ORDER BY u.event_time, u.usage_id
