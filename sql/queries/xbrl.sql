-- The XBRL report's sources (the fact table in reports/xbrl.c). Every
-- source statement takes the same three parameters, named in its first
-- line: the period's first day, the day after its last, and the run.
-- Amount sources return (currency, amount) rows; the others one value.
-- Every count and amount is of the period's data (030_xbrl_period_data):
-- the usage files whose data belongs to the period
-- (billrun_period_files), the accounts' billing periods that closed in it
-- (billrun_period_billing_periods: period_local_end in (start, end]), and
-- the documents issued by the runs of the period (its month-end run and
-- reruns of it). Never "what the runs dated in the period did": a month
-- billed night by night and one billed in a catch-up run report the same.

-- name: xbrl_table_exists
SELECT to_regclass($1) IS NOT NULL

-- name: xbrl_currencies
SELECT DISTINCT currency::text FROM accounts ORDER BY 1

-- name: xbrl_rated_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT r.currency::text, sum(r.subtotal)::text
FROM ratings_current r, p
WHERE r.closed AND r.status = 'rated'
  AND r.period_local_end > p.period_start AND r.period_local_end <= p.period_end
GROUP BY r.currency ORDER BY 1

-- name: xbrl_rated_tax_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT r.currency::text, sum(r.tax_total)::text
FROM ratings_current r, p
WHERE r.closed AND r.status = 'rated'
  AND r.period_local_end > p.period_start AND r.period_local_end <= p.period_end
GROUP BY r.currency ORDER BY 1

-- name: xbrl_ratings_held
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM ratings_current r, p
WHERE r.closed AND r.status = 'held'
  AND r.period_local_end > p.period_start AND r.period_local_end <= p.period_end

-- name: xbrl_audit_entries
-- Entries about the period's data: its files (ingest_file.created,
-- quarantine.created, entity ingest_files/ID) and the documents issued by
-- its runs (invoice.issued). Not the runs' and attempts' own entries, nor
-- holds': a hold is made by each run that finds its cause, so their
-- number follows the schedule, not the data.
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM p, audit_log a
WHERE a.entity IN (SELECT 'ingest_files/' || pf.file_id FROM billrun_period_files(p.period_start, p.period_end) pf)
   OR (a.kind = 'invoice.issued'
       AND (a.payload::jsonb ->> 'run')::bigint IN (SELECT r.id FROM runs r
                                                    WHERE r.period_start >= p.period_start
                                                      AND r.period_start < p.period_end))

-- name: xbrl_rule_version
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT v.sha256 FROM p JOIN runs r ON r.id = p.run_id JOIN rule_versions v ON v.id = r.rule_version

-- name: xbrl_run_identifier
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT r.dag || '/' || r.period_start || '/run-' || r.id FROM p JOIN runs r ON r.id = p.run_id

-- name: xbrl_records_ingested
-- Records of the period's usage files (billrun_period_files: a file
-- belongs to the UTC day of its latest accepted record's usage time).
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT coalesce(sum(f.accepted), 0)::text
FROM p, billrun_period_files(p.period_start, p.period_end) pf JOIN ingest_files f ON f.id = pf.file_id

-- name: xbrl_records_quarantined
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT coalesce(sum(f.quarantined), 0)::text
FROM p, billrun_period_files(p.period_start, p.period_end) pf JOIN ingest_files f ON f.id = pf.file_id

-- name: xbrl_records_duplicated
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT coalesce(sum(f.duplicates), 0)::text
FROM p, billrun_period_files(p.period_start, p.period_end) pf JOIN ingest_files f ON f.id = pf.file_id

-- name: xbrl_records_in_quarantine
-- Records of the period's files still in quarantine now (the report's
-- snapshot): a reprocessed file's records come back as a new file.
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM p, billrun_period_files(p.period_start, p.period_end) pf JOIN quarantine_records q ON q.file_id = pf.file_id

-- name: xbrl_accounts_held
-- Billing periods closed in the period with a hold not released now
-- (counted once however many runs held them, for whatever reasons).
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM p, billrun_period_billing_periods(p.period_start, p.period_end) bp
WHERE EXISTS (SELECT 1 FROM account_holds_open h
              WHERE h.account_ext = bp.account_ext AND h.period_start = bp.period_local_start)

-- name: xbrl_accounts_open
-- Accounts in force at the end of the period's last day (UTC): a version
-- of their history valid then.
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(DISTINCT a.external_id)::text
FROM p, accounts a
WHERE a.valid_from < (p.period_end::timestamp AT TIME ZONE 'UTC')
  AND (a.valid_to IS NULL OR a.valid_to >= (p.period_end::timestamp AT TIME ZONE 'UTC'))

-- name: xbrl_records_read
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT coalesce(sum(f.records_read), 0)::text
FROM p, billrun_period_files(p.period_start, p.period_end) pf JOIN ingest_files f ON f.id = pf.file_id

-- name: xbrl_billed_amount
-- Invoices and credit notes: those issued by the runs of the period (the
-- month-end run, and any rerun of it for a dispute).
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT i.currency::text, sum(i.subtotal)::text
FROM p, invoices i JOIN runs r ON r.id = i.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end
GROUP BY i.currency ORDER BY 1

-- name: xbrl_tax_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT i.currency::text, sum(i.tax_total)::text
FROM p, invoices i JOIN runs r ON r.id = i.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end
GROUP BY i.currency ORDER BY 1

-- name: xbrl_invoiced_amount
-- The invoices' own totals, so that the calculation BilledAmount +
-- TaxAmount = InvoicedAmount checks them.
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT i.currency::text, sum(i.total)::text
FROM p, invoices i JOIN runs r ON r.id = i.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end
GROUP BY i.currency ORDER BY 1

-- name: xbrl_invoice_count
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM p, invoices i JOIN runs r ON r.id = i.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end

-- name: xbrl_credit_note_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT c.currency::text, sum(c.total)::text
FROM p, credit_notes c JOIN runs r ON r.id = c.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end
GROUP BY c.currency ORDER BY 1

-- name: xbrl_credit_note_count
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM p, credit_notes c JOIN runs r ON r.id = c.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end

-- name: xbrl_reconciliation_difference_count
-- Checks of the period's data whose latest result is a failure
-- (billrun_period_latest_checks, 030).
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM p, billrun_period_latest_checks(p.period_start, p.period_end) c
WHERE c.verdict = 'fail'

-- name: xbrl_reconciliation_difference_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT c.currency, sum(abs(c.difference))::text
FROM p, billrun_period_latest_checks(p.period_start, p.period_end) c
WHERE c.verdict = 'fail'
  AND c.measure = 'amount' AND c.difference IS NOT NULL AND c.currency ~ '^[A-Z]{3}$'
GROUP BY c.currency ORDER BY 1
