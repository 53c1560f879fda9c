-- facts.sql - what `make test-faults` compares between the reference
-- database (A) and the ones that were interrupted (B, C): every business
-- fact, written without the values that legitimately differ.
--
-- Left out, and why:
--   * database ids (runs, attempts, files, usage, quarantine rows,
--     ratings, rated lines, snapshots, holds, invoices' ids): sequences are
--     not transactional, so an attempt killed before its commit uses up
--     values and every later id moves; facts are joined by what they mean
--     (file name, event key, invoice number) instead. Ids quoted inside
--     text (a hold's "first: record 123", "rating 45") are replaced by '#'.
--   * times (started, ingested, issued, created): the runs happen at other
--     moments. Issue and due dates are kept (the three runs are made the
--     same day).
--   * the runner's own history (runs, attempts, their audit entries): an
--     interrupted run has more attempts by design. Compared instead: one
--     run per DAG and period, all succeeded.
--   * paths of output folders and archives (another state folder).
-- Every query orders its rows fully, so equal facts print equal text.

\pset footer off
\pset tuples_only on
\pset format unaligned

\echo == runs: one per DAG and period, and how each ended
SELECT dag, period_start, status, count(*) FROM runs GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

\echo == ingest_files: per file, what was read and where it went (conservation: read = accepted + quarantined + duplicates, and the rows are there)
SELECT f.file_name, f.sha256, f.size_bytes, f.records_read, f.accepted, f.quarantined, f.duplicates,
       f.not_billable, f.blank_lines, coalesce(f.header_problem, ''), f.read_totals::text, f.control_status,
       coalesce(f.control_detail, ''), r.dag || ' ' || r.period_start,
       CASE WHEN f.records_read = f.accepted + f.quarantined + f.duplicates
             AND f.accepted = (SELECT count(*) FROM usage u WHERE u.file_id = f.id)
             AND f.quarantined = (SELECT count(*) FROM quarantine_records q WHERE q.file_id = f.id)
            THEN 'conserved' ELSE 'NOT CONSERVED' END
FROM ingest_files f JOIN runs r ON r.id = f.run_id
ORDER BY f.file_name;

\echo == usage: totals (each row is compared in usage.txt)
SELECT count(*), count(DISTINCT (source, event_key)), sum(quantity) FROM usage;

\echo == quarantine_records
SELECT q.file_name, q.line_no, q.source, q.reason, q.message, q.raw, coalesce(q.account_ext, ''), q.raw_truncated
FROM quarantine_records q ORDER BY q.file_name, q.line_no;

\echo == account_holds (ids in the detail replaced by #)
SELECT h.account_ext, h.period_start, h.reason,
       regexp_replace(h.detail, '(record|rating) [0-9]+', '\1 #', 'g'),
       r.dag || ' ' || r.period_start,
       EXISTS (SELECT 1 FROM hold_releases x WHERE x.hold_id = h.id)
FROM account_holds h JOIN runs r ON r.id = h.run_id
ORDER BY 1, 2, 3, 4;

\echo == invoices
SELECT i.number, i.kind, i.series, i.seq, i.account_ext, i.account_id, i.period_local_start, i.period_local_end,
       i.currency, i.subtotal, i.tax_total, i.total, i.issue_date, i.due_date,
       coalesce((SELECT s.number FROM invoices s WHERE s.id = i.supplements), ''),
       coalesce((SELECT s.number FROM invoices s WHERE s.id = i.replaces), ''),
       (SELECT v.sha256 FROM rule_versions v WHERE v.id = i.rule_version),
       i.seller::text, i.customer::text
FROM invoices i ORDER BY i.number;

\echo == invoice_lines
SELECT i.number, l.line_no, l.kind, l.adjustment, l.account_ext, l.period_local_start, l.line_key, l.description,
       l.plan, l.charge, l.meter, l.model, l.tax_group, l.quantity, l.billable_quantity, l.price_currency,
       l.amount_price_currency, l.fx_rate, l.fx_as_of, l.tax_rate, l.tax_base, l.tax_jurisdiction, l.amount,
       l.rated_line_id IS NULL
FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id ORDER BY i.number, l.line_no;

\echo == credit_notes and their lines
SELECT c.number, c.reason, c.series, c.seq, (SELECT i.number FROM invoices i WHERE i.id = c.invoice_id),
       c.account_ext, c.period_local_start, c.period_local_end, c.currency, c.subtotal, c.tax_total, c.total,
       c.issue_date
FROM credit_notes c ORDER BY c.number;
SELECT c.number, l.line_no, l.kind, l.line_key, l.description, l.quantity, l.billable_quantity, l.tax_rate,
       l.tax_base, l.amount
FROM credit_notes c JOIN credit_note_lines l ON l.credit_note_id = c.id ORDER BY c.number, l.line_no;

\echo == invoice_series counters (gapless: last_seq = documents in the series)
SELECT s.series, s.last_seq,
       (SELECT count(*) FROM invoices i WHERE i.series = s.series)
       + (SELECT count(*) FROM credit_notes c WHERE c.series = s.series)
FROM invoice_series s ORDER BY 1;

\echo == invoice_reviews: each rating looked at once, and its outcome
SELECT v.account_ext, v.period_local_start, v.outcome,
       coalesce((SELECT i.number FROM invoices i WHERE i.id = v.invoice_id), ''),
       coalesce((SELECT c.number FROM credit_notes c WHERE c.id = v.credit_note_id), '')
FROM invoice_reviews v ORDER BY 1, 2, 3, 4;

\echo == usage billed exactly once: each invoice usage line against the usage it bills, recomputed here
-- The quantity on every usage line must equal the meter's aggregation over
-- the account's billable usage in its local period (sums after each
-- record's rounding increment; the records and unique values a meter
-- counts as migration 017 defines them): usage lost or counted twice anywhere
-- between ingest and invoice shows here, in A as well as in B.
WITH line AS (
  SELECT i.account_ext, i.account_id, i.period_local_start AS ps, i.period_local_end AS pe, l.meter, l.quantity
  FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
  WHERE l.kind = 'usage' AND NOT l.adjustment),
recomputed AS (
  SELECT ln.meter, ln.quantity,
         CASE m.aggregation
           WHEN 'sum' THEN coalesce(sum(CASE WHEN m.round_increment IS NULL THEN u.quantity
                                             ELSE ceil(u.quantity / m.round_increment) * m.round_increment END), 0)
           WHEN 'count' THEN count(u.event_key)
           WHEN 'max' THEN coalesce(max(u.quantity), 0)
           WHEN 'unique_count' THEN count(DISTINCT billrun_unique_value(u.attributes, m.unique_attribute))
         END AS expected
  FROM line ln JOIN meters m ON m.name = ln.meter JOIN accounts a ON a.id = ln.account_id
  LEFT JOIN usage u ON u.account_ext = ln.account_ext AND u.meter = ln.meter AND u.billable
                   AND billrun_meter_counts(m.charge_categories, u.cost, u.attributes)
                   AND u.event_time >= ln.ps::timestamp AT TIME ZONE a.time_zone
                   AND u.event_time < ln.pe::timestamp AT TIME ZONE a.time_zone
  GROUP BY ln.account_ext, ln.ps, ln.meter, ln.quantity, m.aggregation, m.round_increment, m.unique_attribute)
SELECT meter, count(*) AS lines, count(*) FILTER (WHERE quantity IS DISTINCT FROM expected) AS wrong
FROM recomputed GROUP BY meter ORDER BY meter;

\echo == chargeback_reports
SELECT cost_centre, period_local_start, period_local_end, currency FROM chargeback_reports ORDER BY 1, 2, 3, 4;

\echo == audit: business entries, ids and times left out (the chain itself is checked by 'billrun audit verify')
-- One line per entry of the kinds that record billing facts. Invoices are
-- listed per document from the invoice.issued entries (number, currency,
-- total, SHA-256 of the content): how documents fall into issuing batches
-- may differ after a kill between two batches, the documents may not.
SELECT kind, (payload::jsonb - ARRAY['id', 'run_id', 'started_at', 'ingested_at', 'created_at', 'first_id',
                                      'last_id'])::text
FROM audit_log
WHERE kind IN ('ingest_file.created', 'quarantine.created', 'rule_version.created', 'hold.released')
UNION ALL
SELECT kind, (payload::jsonb - ARRAY['id', 'run_id', 'created_at', 'detail'])::text
           || ' ' || regexp_replace(payload::jsonb ->> 'detail', '(record|rating) [0-9]+', '\1 #', 'g')
FROM audit_log WHERE kind = 'hold.created'
UNION ALL
SELECT 'invoice.issued document', d::text
FROM audit_log, jsonb_array_elements(payload::jsonb -> 'documents') AS d
WHERE kind IN ('invoice.issued', 'credit_note.issued')
UNION ALL
SELECT kind, (payload::jsonb ->> 'signed')
FROM audit_log WHERE kind = 'archive.created'
ORDER BY 1, 2;
