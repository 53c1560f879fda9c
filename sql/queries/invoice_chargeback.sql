-- The chargeback step (jobs/chargeback.c): what FOCUS usage (usage.cost
-- not NULL) cost, per cost centre and billing period.

-- name: chargeback_rows
-- One row per cost centre, billing period, account, service, charge
-- category and currency, for the periods that end within the run's period
-- $1 .. $2 (local end date in (start, end], as the aggregate step closes
-- them): records, consumed quantity and billed cost (exact sums of
-- BilledCost as ingested), and on each row the account period's charge
-- (chargeback_charge(), 014: what the cost centre is charged for the
-- account period, NULL while it is not rated) and its currency. The cost
-- centre and name are the account version's in force at the period's end.
-- Ordered as written: by cost centre and period (one file each), then
-- account, service, category.
WITH acc AS (
  SELECT DISTINCT u.account_ext FROM usage u
  WHERE u.cost IS NOT NULL
    AND u.event_time >= ($1::date - 40)::timestamp AT TIME ZONE 'UTC'
    AND u.event_time < ($2::date + 2)::timestamp AT TIME ZONE 'UTC'
), per AS (
  SELECT a.account_ext, p.local_start, p.local_end, p.start_at, p.end_at, p.account_id
  FROM acc a
  CROSS JOIN LATERAL billing_periods(a.account_ext, ($1::date - 40)::timestamp AT TIME ZONE 'UTC',
                                     ($2::date + 2)::timestamp AT TIME ZONE 'UTC') p
  WHERE p.local_end > $1::date AND p.local_end <= $2::date
)
SELECT v.cost_centre, per.local_start::text, (per.local_end - 1)::text, per.account_ext, v.name,
       coalesce(u.attributes ->> 'ServiceName', u.meter), coalesce(u.attributes ->> 'ChargeCategory', ''),
       coalesce(u.currency, v.currency), count(*), coalesce(sum(u.quantity), 0)::text, sum(u.cost)::text,
       per.local_end::text, ch.charged::text, ch.currency
FROM per
JOIN accounts v ON v.id = per.account_id
LEFT JOIN LATERAL chargeback_charge(per.account_ext, per.local_start) ch ON true
JOIN usage u ON u.account_ext = per.account_ext AND u.event_time >= per.start_at AND u.event_time < per.end_at
WHERE u.cost IS NOT NULL AND u.billable
  AND u.event_time >= ($1::date - 40)::timestamp AT TIME ZONE 'UTC'
  AND u.event_time < ($2::date + 2)::timestamp AT TIME ZONE 'UTC'
GROUP BY v.cost_centre, per.local_start, per.local_end, per.account_ext, v.name, 6, 7, 8, ch.charged, ch.currency
ORDER BY 1, 2, 4, 6, 7, 8

-- name: chargeback_report_insert
-- One report file's total in one currency: $1 run, $2 cost centre, $3
-- period start, $4 period end (exclusive), $5 currency, $6 accounts, $7
-- records, $8 billed cost, $9 file name, $10 charged.
INSERT INTO chargeback_reports (run_id, cost_centre, period_local_start, period_local_end, currency, accounts,
                                records, billed_cost, file_name, charged)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
