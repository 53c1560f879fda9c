-- The XBRL report's sources (the fact table in reports/xbrl.c). Every
-- source statement takes the same three parameters, named in its first
-- line: the period's first day, the day after its last, and the run.
-- Amount sources return (currency, amount) rows; the others one value.
-- A billing period belongs to the report when it closed within the run's
-- period: period_local_end in (start, end].

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
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text FROM audit_log a, p WHERE a.at < p.period_end

-- name: xbrl_rule_version
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT v.sha256 FROM p JOIN runs r ON r.id = p.run_id JOIN rule_versions v ON v.id = r.rule_version

-- name: xbrl_run_identifier
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT r.dag || '/' || r.period_start || '/run-' || r.id FROM p JOIN runs r ON r.id = p.run_id

-- name: xbrl_records_ingested
-- Files ingested by the runs of the period (the nightly runs of its days
-- and the period's own run).
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT coalesce(sum(f.accepted), 0)::text
FROM p, ingest_files f JOIN runs r ON r.id = f.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end

-- name: xbrl_records_quarantined
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT coalesce(sum(f.quarantined), 0)::text
FROM p, ingest_files f JOIN runs r ON r.id = f.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end

-- name: xbrl_records_duplicated
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT coalesce(sum(f.duplicates), 0)::text
FROM p, ingest_files f JOIN runs r ON r.id = f.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end

-- name: xbrl_records_in_quarantine
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text FROM quarantine_records q, p WHERE q.created_at < p.period_end

-- name: xbrl_accounts_held
-- Holds in force at the end of the period: made before it, not released
-- before it.
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text FROM account_holds h, p
WHERE h.created_at < p.period_end
  AND NOT EXISTS (SELECT 1 FROM hold_releases x WHERE x.hold_id = h.id AND x.released_at < p.period_end)

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
-- Checks of the runs of the period that failed (beyond tolerance).
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text
FROM p, reconciliation_checks c JOIN runs r ON r.id = c.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end AND c.verdict = 'fail'

-- name: xbrl_reconciliation_difference_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT c.currency, sum(abs(c.difference))::text
FROM p, reconciliation_checks c JOIN runs r ON r.id = c.run_id
WHERE r.period_start >= p.period_start AND r.period_start < p.period_end AND c.verdict = 'fail'
  AND c.measure = 'amount' AND c.difference IS NOT NULL AND c.currency ~ '^[A-Z]{3}$'
GROUP BY c.currency ORDER BY 1
