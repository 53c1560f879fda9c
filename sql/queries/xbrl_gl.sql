-- The journal of a period (reports/journal.c): the invoices and credit
-- notes issued by the runs of the period, the same documents the XBRL
-- report's BilledAmount, TaxAmount and CreditNoteAmount add up
-- (xbrl.sql), and their lines summed per charge and per tax rate. Both
-- statements take the same four parameters: the period's first day, the
-- day after its last, the run, and the functional currency ('' = none).

-- name: xbrl_gl_documents
-- One row per document: doc (invoice, supplementary, credit_note), id,
-- number, issue and due dates, account, customer name, currency,
-- subtotal, tax_total, total, the number of the invoice it credits,
-- supplements or replaces, the billing period's first and last day, and
-- the rate into the functional currency when the document's currency is
-- another: the latest published on or before the issue date, quoted
-- either way (inverse = the amount is divided by it; on the same date a
-- direct quote wins, then the latest correction), as the rate step finds
-- its rates (rate.sql, rate_fx). In issue order: by issue date,
-- invoices before credit notes, then by series and number.
WITH p(period_start, period_end, run_id, functional) AS (SELECT $1::date, $2::date, $3::bigint, nullif($4::text, ''))
SELECT d.doc, d.id::text, d.number, d.issue_date::text, coalesce(d.due_date::text, ''), d.account_ext,
       coalesce(d.customer ->> 'name', ''), d.currency::text, d.subtotal::text, d.tax_total::text, d.total::text,
       coalesce(ref.number, ''), d.period_local_start::text, (d.period_local_end - 1)::text,
       coalesce(fx.rate::text, ''), coalesce(fx.as_of::text, ''), coalesce(fx.inverse, false)::text,
       coalesce(fx.source, '')
FROM p
JOIN invoice_documents d ON true
JOIN runs r ON r.id = d.run_id
LEFT JOIN invoices ref ON ref.id = d.ref_id
LEFT JOIN LATERAL (
  SELECT x.rate, x.as_of, x.base::text = p.functional AS inverse, x.source
  FROM fx_rates x
  WHERE p.functional IS NOT NULL AND d.currency::text <> p.functional
    AND ((x.base = d.currency AND x.quote::text = p.functional) OR (x.base::text = p.functional AND x.quote = d.currency))
    AND x.as_of <= d.issue_date
  ORDER BY x.as_of DESC, (x.base = d.currency) DESC, x.id DESC
  LIMIT 1) fx ON true
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end
ORDER BY d.issue_date, (d.doc = 'credit_note'), d.series, d.seq

-- name: xbrl_gl_lines
-- The documents' lines summed: one row per document (doc_table invoice
-- or credit_note, document id), side (revenue or tax) and key (a charge:
-- its id, or a usage charge's meter; a tax: its rate, trailing zeros
-- dropped), with the sum of the amounts (a credit note's as credited:
-- positive), of the tax bases, and the tax jurisdictions. Ordered by
-- document, revenue before tax, key.
WITH p(period_start, period_end, run_id, functional) AS (SELECT $1::date, $2::date, $3::bigint, nullif($4::text, ''))
SELECT l.doc_table, l.document_id::text, CASE WHEN l.kind = 'tax' THEN 'tax' ELSE 'revenue' END AS side,
       CASE WHEN l.kind = 'tax' THEN coalesce(trim_scale(l.tax_rate)::text, '')
            ELSE coalesce(l.charge, l.meter, l.kind) END AS key,
       sum(l.amount)::text, coalesce(sum(l.tax_base) FILTER (WHERE l.kind = 'tax'), 0)::text,
       coalesce(string_agg(DISTINCT l.tax_jurisdiction, ' ') FILTER (WHERE l.kind = 'tax'), '')
FROM p
JOIN invoice_documents d ON true
JOIN runs r ON r.id = d.run_id
JOIN invoice_document_lines l ON l.document_id = d.id AND (l.doc_table = 'credit_note') = (d.doc = 'credit_note')
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2::bigint, 3, 4
