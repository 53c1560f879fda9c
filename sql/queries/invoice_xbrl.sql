-- Invoice facts for the XBRL report (the fact table in reports/xbrl.c),
-- with its source contract (sql/queries/xbrl.sql): $1 the period's first
-- day, $2 the day after its last, $3 the run; amounts as (currency,
-- amount) rows, counts as one value. A document belongs to the report when
-- the billing period it is for closed within the report's period
-- (period_local_end in (start, end]), like the rated facts. Amounts are
-- before tax (BilledAmount) and the tax (TaxAmount) of invoices and
-- supplementary invoices; credit notes are reported apart, in full.

-- name: invoice_xbrl_billed_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT i.currency::text, sum(i.subtotal)::text
FROM invoices i, p
WHERE i.period_local_end > p.period_start AND i.period_local_end <= p.period_end
GROUP BY i.currency ORDER BY 1

-- name: invoice_xbrl_tax_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT i.currency::text, sum(i.tax_total)::text
FROM invoices i, p
WHERE i.period_local_end > p.period_start AND i.period_local_end <= p.period_end
GROUP BY i.currency ORDER BY 1

-- name: invoice_xbrl_credit_note_amount
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT c.currency::text, sum(c.total)::text
FROM credit_notes c, p
WHERE c.period_local_end > p.period_start AND c.period_local_end <= p.period_end
GROUP BY c.currency ORDER BY 1

-- name: invoice_xbrl_invoice_count
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text FROM invoices i, p
WHERE i.period_local_end > p.period_start AND i.period_local_end <= p.period_end

-- name: invoice_xbrl_credit_note_count
WITH p(period_start, period_end, run_id) AS (SELECT $1::date, $2::date, $3::bigint)
SELECT count(*)::text FROM credit_notes c, p
WHERE c.period_local_end > p.period_start AND c.period_local_end <= p.period_end
