-- The reconcile step (jobs/reconcile.c). Every statement runs in one
-- REPEATABLE READ transaction with the step's done mark. What this run
-- ingested is read once into rec_usage; the account periods it concerns
-- are recounted from usage once into rec_counted; each check is then one
-- INSERT ... SELECT into reconciliation_checks. Parameters: $1 is always
-- the run, $2 (where present) the one account of a dispute rerun or NULL.
-- jobs/RECONCILE.md explains the checks.

-- name: reconcile_already
SELECT count(*) FROM reconcile_runs WHERE run_id = $1

-- name: reconcile_temp_tables
CREATE TEMPORARY TABLE rec_usage (
  file_id      bigint NOT NULL,
  account_ext  text NOT NULL,
  meter        text NOT NULL,
  records      bigint NOT NULL,
  billable     bigint NOT NULL,
  quantity     numeric NOT NULL,       -- of the billable records
  first_event  timestamptz NOT NULL,
  last_event   timestamptz NOT NULL,
  currency_min text,                   -- FOCUS BillingCurrency
  currency_max text
) ON COMMIT DROP;
CREATE TEMPORARY TABLE rec_usage_periods (
  file_id             bigint NOT NULL,
  account_ext         text NOT NULL,
  period_local_start  date NOT NULL,
  period_start        timestamptz NOT NULL,
  period_end          timestamptz NOT NULL
) ON COMMIT DROP;
CREATE TEMPORARY TABLE rec_file_accounts (
  file_id             bigint NOT NULL,
  account_ext         text NOT NULL,
  period_local_start  date NOT NULL
) ON COMMIT DROP;
CREATE TEMPORARY TABLE rec_targets (
  account_ext         text NOT NULL,
  period_local_start  date NOT NULL,
  period_start        timestamptz NOT NULL,
  period_end          timestamptz NOT NULL,
  snapshot_id         bigint,
  PRIMARY KEY (account_ext, period_local_start)
) ON COMMIT DROP;
CREATE TEMPORARY TABLE rec_counted (
  account_ext         text NOT NULL,
  period_local_start  date NOT NULL,
  meter               text NOT NULL,
  records             bigint NOT NULL,
  billable            bigint NOT NULL,
  quantity            numeric NOT NULL,
  metered             bigint NOT NULL,    -- billable records the meter counts (017)
  metered_quantity    numeric NOT NULL,   -- their quantity
  cost                numeric NOT NULL,
  cost_records        bigint NOT NULL,
  other_records       bigint NOT NULL,
  currency_min        text,
  currency_max        text
) ON COMMIT DROP;
CREATE TEMPORARY TABLE rec_straddling (
  account_ext         text NOT NULL,
  period_local_start  date NOT NULL
) ON COMMIT DROP;
CREATE TEMPORARY TABLE rec_ratings ON COMMIT DROP AS SELECT * FROM ratings WITH NO DATA

-- name: reconcile_hash_on
-- Right after ingest, usage has usually not been analyzed: the planner then
-- expects a few thousand rows and sorts a million to group them. Around the
-- two scans of usage it hashes instead (an incremental sort on file_id,
-- which enable_sort does not cover, measured 2x slower than hashing).
SET LOCAL work_mem = '64MB';
SET LOCAL enable_sort = off;
SET LOCAL enable_incremental_sort = off

-- name: reconcile_after_scan
-- Back to the planner's choice; statistics for the temporary tables as
-- they are filled, for the joins after them.
SET LOCAL enable_sort = on;
SET LOCAL enable_incremental_sort = on;
ANALYZE rec_usage

-- name: reconcile_after_periods
ANALYZE rec_usage_periods;
ANALYZE rec_file_accounts

-- name: reconcile_before_recount
ANALYZE rec_ratings;
ANALYZE rec_targets;
SET LOCAL enable_sort = off

-- name: reconcile_after_recount
SET LOCAL enable_sort = on;
ANALYZE rec_counted

-- name: reconcile_usage_scan_partials
-- What this run accepted, per file, account and meter, from the files'
-- partial sums (023; reconcile.source = "partials"). Their currencies are
-- the billable records' where the scan below takes every record's: only
-- unanswered calls are not billable, and they carry no currency.
INSERT INTO rec_usage
SELECT p.file_id, p.account_ext, p.meter, sum(p.records), sum(p.billable), coalesce(sum(p.quantity), 0),
       min(p.first_event), max(p.last_event), min(p.currency_min), max(p.currency_max)
FROM usage_partials p
WHERE p.file_id IN (SELECT f.id FROM ingest_files f WHERE f.run_id = $1)
  AND ($2::text IS NULL OR p.account_ext = $2)
GROUP BY 1, 2, 3

-- name: reconcile_usage_scan
-- What this run accepted: one scan of its files' usage (BRIN on file_id),
-- grouped by file, account and meter (reconcile.source = "usage").
INSERT INTO rec_usage
SELECT u.file_id, u.account_ext, u.meter, count(*), count(*) FILTER (WHERE u.billable),
       coalesce(sum(u.quantity) FILTER (WHERE u.billable), 0), min(u.event_time), max(u.event_time),
       min(u.currency), max(u.currency)
FROM usage u
WHERE u.file_id IN (SELECT f.id FROM ingest_files f WHERE f.run_id = $1)
  AND ($2::text IS NULL OR u.account_ext = $2)
GROUP BY 1, 2, 3

-- name: reconcile_usage_periods
-- The billing periods this run's usage fell in, per file and account: one
-- billing_periods() call per account; a period counts when the span of a
-- file's events of the account overlaps it. (A span that covers a whole
-- period without usage in it names that period too: it is then recounted
-- and found empty, which is no finding.)
INSERT INTO rec_usage_periods
SELECT DISTINCT g.file_id, g.account_ext, p.local_start, p.start_at, p.end_at
FROM (SELECT account_ext, min(first_event) AS first_event, max(last_event) AS last_event
      FROM rec_usage GROUP BY account_ext) a
CROSS JOIN LATERAL billing_periods(a.account_ext, a.first_event, a.last_event + interval '1 microsecond') p
JOIN (SELECT file_id, account_ext, min(first_event) AS first_event, max(last_event) AS last_event
      FROM rec_usage GROUP BY file_id, account_ext) g
  ON g.account_ext = a.account_ext AND p.start_at <= g.last_event AND p.end_at > g.first_event

-- name: reconcile_file_accounts
-- The account periods each file of the run concerns: those of its usage,
-- and for its quarantined records of known accounts the periods the run's
-- days fall in (a bad record's time may be unreadable).
INSERT INTO rec_file_accounts
SELECT file_id, account_ext, period_local_start FROM rec_usage_periods
UNION
SELECT q.file_id, q.account_ext, rp.local_start
FROM (SELECT DISTINCT file_id, account_ext FROM quarantine_records
      WHERE run_id = $1 AND account_ext IS NOT NULL) q
CROSS JOIN LATERAL reconcile_run_periods(q.account_ext, $1) rp

-- name: reconcile_file_checks
-- Per file of the run: conservation against the rows actually stored, and
-- the control file's statements against what was read. $2, $3: quantity
-- tolerance (relative, absolute); $4, $5: amount tolerance.
WITH f AS (
  SELECT * FROM ingest_files WHERE run_id = $1
), stored AS (
  SELECT file_id, sum(records) AS n, CASE WHEN min(currency_min) = max(currency_max) THEN min(currency_min) END AS currency
  FROM rec_usage GROUP BY file_id
), quarantined AS (
  SELECT file_id, count(*) AS n FROM quarantine_records
  WHERE file_id IN (SELECT id FROM f) GROUP BY file_id
), ctl AS (
  SELECT * FROM f WHERE control_status IN ('match', 'mismatch')
), computed AS (
  SELECT f.id AS file_id, 'conservation' AS check_name, 'count' AS measure, NULL::text AS meter,
         NULL::text AS currency,
         f.records_read::numeric AS expected,
         (coalesce(s.n, 0) + coalesce(q.n, 0) + f.duplicates)::numeric AS actual, 0::numeric AS tolerance,
         NULL::text AS verdict,
         format('file %s ''%s'': %s records read; stored %s usage rows (%s accepted stated) + %s quarantined rows (%s stated) + %s duplicates',
                f.id, f.file_name, f.records_read, coalesce(s.n, 0), f.accepted, coalesce(q.n, 0), f.quarantined,
                f.duplicates) AS detail
  FROM f LEFT JOIN stored s ON s.file_id = f.id LEFT JOIN quarantined q ON q.file_id = f.id
  UNION ALL
  SELECT f.id, 'control_file', 'text', NULL, NULL, NULL, NULL, NULL, 'fail',
         format('file %s ''%s'': control file ''%s'' could not be used: %s', f.id, f.file_name, f.control_file,
                coalesce(f.control_detail, ''))
  FROM f WHERE f.control_status = 'invalid'
  UNION ALL
  SELECT ctl.id, 'control_records', 'count', NULL, NULL, (ctl.control ->> 'records')::numeric, ctl.records_read, 0, NULL,
         format('file %s ''%s'': control file states %s records, %s were read', ctl.id, ctl.file_name,
                ctl.control ->> 'records', ctl.records_read)
  FROM ctl WHERE ctl.control ? 'records'
  UNION ALL
  SELECT ctl.id, 'control_sha256', 'text', NULL, NULL, NULL, NULL, NULL,
         CASE WHEN ctl.control ->> 'sha256' = ctl.sha256 THEN 'pass' ELSE 'fail' END,
         format('file %s ''%s'': control file states SHA-256 %s, the file''s is %s', ctl.id, ctl.file_name,
                ctl.control ->> 'sha256', ctl.sha256)
  FROM ctl WHERE ctl.control ? 'sha256'
  UNION ALL
  SELECT ctl.id, 'control_cost', 'amount', NULL, s.currency, (ctl.control ->> 'cost')::numeric,
         coalesce(ctl.read_cost, 0),
         reconcile_tolerance((ctl.control ->> 'cost')::numeric, $4::numeric, $5::numeric), NULL,
         format('file %s ''%s'': control file states cost %s, read %s', ctl.id, ctl.file_name,
                ctl.control ->> 'cost', coalesce(ctl.read_cost, 0))
  FROM ctl LEFT JOIN stored s ON s.file_id = ctl.id WHERE ctl.control ? 'cost'
  UNION ALL
  SELECT ctl.id, 'control_quantity', 'quantity', m.key, NULL,
         CASE WHEN m.value ~ '^[-+]?[0-9.eE+-]+$' THEN m.value::numeric END,
         CASE WHEN ctl.read_totals ->> m.key = 'overflow' THEN NULL
              ELSE coalesce((ctl.read_totals ->> m.key)::numeric, 0) END,
         reconcile_tolerance(CASE WHEN m.value ~ '^[-+]?[0-9.eE+-]+$' THEN m.value::numeric END, $2::numeric,
                             $3::numeric),
         NULL,
         format('file %s ''%s'': control file states %s %s, read %s', ctl.id, ctl.file_name, m.value, m.key,
                coalesce(ctl.read_totals ->> m.key, '0'))
  FROM ctl CROSS JOIN LATERAL jsonb_each_text(ctl.control -> 'quantity') m
  WHERE jsonb_typeof(ctl.control -> 'quantity') = 'object'
)
INSERT INTO reconciliation_checks (run_id, check_name, measure, file_id, meter, currency, expected, actual,
                                   difference, tolerance, verdict, detail)
SELECT $1, c.check_name, c.measure, c.file_id, c.meter, c.currency, c.expected, c.actual, c.actual - c.expected,
       c.tolerance, coalesce(c.verdict, reconcile_verdict(c.expected, c.actual, c.tolerance)), c.detail
FROM computed c
ORDER BY c.file_id, c.check_name, c.meter

-- name: reconcile_ratings
-- This run's ratings that are their period's current one.
INSERT INTO rec_ratings
SELECT r.* FROM ratings r
WHERE r.run_id = $1 AND ($2::text IS NULL OR r.account_ext = $2)
  AND NOT EXISTS (SELECT 1 FROM ratings n
                  WHERE n.account_ext = r.account_ext AND n.period_local_start = r.period_local_start
                    AND (n.snapshot_id, n.id) > (r.snapshot_id, r.id))

-- name: reconcile_targets
-- The account periods to recount: those this run aggregated or rated,
-- and those its usage fell in (aggregated or not).
INSERT INTO rec_targets (account_ext, period_local_start, period_start, period_end)
SELECT DISTINCT ON (t.account_ext, t.period_local_start) t.account_ext, t.period_local_start, t.period_start,
       t.period_end
FROM (SELECT s.id, s.account_ext, s.period_local_start, s.period_start, s.period_end
      FROM agg_snapshots s WHERE s.run_id = $1 AND ($2::text IS NULL OR s.account_ext = $2)
      UNION ALL
      SELECT s.id, s.account_ext, s.period_local_start, s.period_start, s.period_end
      FROM rec_ratings r JOIN agg_snapshots s ON s.id = r.snapshot_id
      UNION ALL
      SELECT 0, account_ext, period_local_start, period_start, period_end FROM rec_usage_periods) t
ORDER BY t.account_ext, t.period_local_start, t.id DESC

-- name: reconcile_targets_snapshot
-- Each target's current snapshot (the newest), whichever run made it.
UPDATE rec_targets t
SET snapshot_id = (SELECT s.id FROM agg_snapshots s
                   WHERE s.account_ext = t.account_ext AND s.period_local_start = t.period_local_start
                   ORDER BY s.id DESC LIMIT 1)

-- name: reconcile_straddling
-- Target periods that partial sums cannot recount: a partial of the
-- account overlaps the period without lying inside it (its time zone or
-- anchor day changed after the ingest). With reconcile.source = "usage"
-- ($1), every target.
INSERT INTO rec_straddling
SELECT t.account_ext, t.period_local_start FROM rec_targets t
WHERE $1::text = 'usage'
   OR EXISTS (SELECT 1 FROM usage_partials p
              WHERE p.account_ext = t.account_ext AND p.first_event < t.period_end
                AND p.last_event >= t.period_start
                AND (p.first_event < t.period_start OR p.last_event >= t.period_end))

-- name: reconcile_recount_partials
-- The target periods' usage, recounted from the partial sums (023) that
-- lie inside them, for the targets not in rec_straddling. "metered": the
-- billable records of the charge categories their meter counts.
INSERT INTO rec_counted
SELECT t.account_ext, t.period_local_start, p.meter, sum(p.records), sum(p.billable), coalesce(sum(p.quantity), 0),
       coalesce(sum(p.billable) FILTER (WHERE c.metered), 0),
       coalesce(sum(p.quantity) FILTER (WHERE c.metered), 0), coalesce(sum(p.cost), 0), sum(p.cost_records),
       sum(p.billable) - sum(p.cost_records), min(p.currency_min), max(p.currency_max)
FROM rec_targets t
JOIN usage_partials p ON p.account_ext = t.account_ext AND p.first_event >= t.period_start
                     AND p.last_event < t.period_end
LEFT JOIN meters m ON m.name = p.meter
CROSS JOIN LATERAL (SELECT p.category = ANY (coalesce(m.charge_categories, '{Usage}')) AS metered) c
WHERE NOT EXISTS (SELECT 1 FROM rec_straddling x
                  WHERE x.account_ext = t.account_ext AND x.period_local_start = t.period_local_start)
GROUP BY 1, 2, 3

-- name: reconcile_recount
-- All usage of the targets in rec_straddling, recounted independently of
-- the aggregate step: one scan of their time window, joined by account;
-- nothing is read when there are none (the EXISTS is evaluated once). Only
-- FOCUS rows carry a cost and a currency (BillingCurrency). "metered":
-- the billable records of the charge categories their meter counts
-- (billrun_meter_counts, 017), what the meter's value is made of; the
-- cost is every billable record's, whatever its category.
INSERT INTO rec_counted
SELECT account_ext, period_local_start, meter, records, billable, coalesce(quantity, 0), metered,
       coalesce(metered_quantity, 0), coalesce(cost, 0), cost_records, billable - cost_records, currency_min,
       currency_max
FROM (SELECT t.account_ext, t.period_local_start, u.meter, count(*) AS records,
             count(*) FILTER (WHERE u.billable) AS billable, sum(u.quantity) FILTER (WHERE u.billable) AS quantity,
             count(*) FILTER (WHERE c.metered) AS metered,
             sum(u.quantity) FILTER (WHERE c.metered) AS metered_quantity,
             sum(u.cost) FILTER (WHERE u.billable) AS cost, count(u.cost) FILTER (WHERE u.billable) AS cost_records,
             min(u.currency) FILTER (WHERE u.billable) AS currency_min,
             max(u.currency) FILTER (WHERE u.billable) AS currency_max
      FROM (SELECT t.* FROM rec_targets t JOIN rec_straddling x
              ON x.account_ext = t.account_ext AND x.period_local_start = t.period_local_start) t
      JOIN usage u ON u.account_ext = t.account_ext AND u.event_time >= t.period_start AND u.event_time < t.period_end
      LEFT JOIN meters m ON m.name = u.meter
      CROSS JOIN LATERAL (SELECT u.billable AND billrun_meter_counts(m.charge_categories, u.cost, u.attributes)
                                 AS metered) c
      WHERE EXISTS (SELECT 1 FROM rec_straddling)
        AND u.event_time >= (SELECT min(t.period_start) FROM rec_targets t JOIN rec_straddling x
                             ON x.account_ext = t.account_ext AND x.period_local_start = t.period_local_start)
        AND u.event_time < (SELECT max(t.period_end) FROM rec_targets t JOIN rec_straddling x
                            ON x.account_ext = t.account_ext AND x.period_local_start = t.period_local_start)
      GROUP BY 1, 2, 3) g

-- name: reconcile_aggregate_checks
-- Accepted vs aggregated, per account period (all records against the
-- snapshot's count) and per meter (the quantity as ingested of the
-- billable records the meter counts against quantity_raw; their record
-- counts must match too).
-- $2, $3: quantity tolerance.
WITH per_period AS (
  SELECT t.account_ext, t.period_local_start, t.snapshot_id, s.usage_records, coalesce(c.records, 0) AS records
  FROM rec_targets t
  LEFT JOIN agg_snapshots s ON s.id = t.snapshot_id
  LEFT JOIN (SELECT account_ext, period_local_start, sum(records) AS records FROM rec_counted
             GROUP BY account_ext, period_local_start) c
         ON c.account_ext = t.account_ext AND c.period_local_start = t.period_local_start
  WHERE t.snapshot_id IS NOT NULL OR c.records > 0
), keys AS (
  SELECT account_ext, period_local_start, meter FROM rec_counted WHERE metered > 0
  UNION
  SELECT t.account_ext, t.period_local_start, v.meter FROM rec_targets t JOIN agg_values v ON v.snapshot_id = t.snapshot_id
), per_meter AS (
  SELECT k.account_ext, k.period_local_start, k.meter, t.snapshot_id, coalesce(c.metered_quantity, 0) AS expected,
         CASE WHEN t.snapshot_id IS NOT NULL THEN coalesce(v.quantity_raw, 0) END AS actual,
         coalesce(c.metered, 0) AS expected_records, coalesce(v.records, 0) AS actual_records,
         EXISTS (SELECT 1 FROM meters m WHERE m.name = k.meter) AS known
  FROM keys k
  JOIN rec_targets t ON t.account_ext = k.account_ext AND t.period_local_start = k.period_local_start
  LEFT JOIN rec_counted c ON c.account_ext = k.account_ext AND c.period_local_start = k.period_local_start
                         AND c.meter = k.meter
  LEFT JOIN agg_values v ON v.snapshot_id = t.snapshot_id AND v.meter = k.meter
), computed AS (
  SELECT p.account_ext, p.period_local_start, NULL::text AS meter, 'aggregate_records' AS check_name,
         'count' AS measure, p.records::numeric AS expected, p.usage_records::numeric AS actual,
         0::numeric AS tolerance, NULL::text AS verdict,
         CASE WHEN p.snapshot_id IS NULL
              THEN format('account ''%s'' period %s: %s usage records and no aggregate snapshot', p.account_ext,
                          p.period_local_start, p.records)
              ELSE format('account ''%s'' period %s: %s usage records, snapshot %s counted %s', p.account_ext,
                          p.period_local_start, p.records, p.snapshot_id, p.usage_records) END AS detail
  FROM per_period p
  UNION ALL
  SELECT m.account_ext, m.period_local_start, m.meter, 'aggregate_quantity', 'quantity', m.expected, m.actual,
         reconcile_tolerance(m.expected, $2::numeric, $3::numeric),
         CASE WHEN m.actual IS NOT NULL AND m.expected_records <> m.actual_records THEN 'fail' END,
         format('account ''%s'' period %s meter ''%s'': accepted %s in %s billable records it counts, aggregated %s in %s records%s%s',
                m.account_ext, m.period_local_start, m.meter, m.expected, m.expected_records,
                coalesce(m.actual::text, 'nothing'), m.actual_records,
                CASE WHEN m.snapshot_id IS NULL THEN ' (no aggregate snapshot)' ELSE ' (snapshot ' || m.snapshot_id || ')' END,
                CASE WHEN NOT m.known THEN ' (the meter is not in table meters)' ELSE '' END)
  FROM per_meter m
)
INSERT INTO reconciliation_checks (run_id, check_name, measure, account_ext, period_local_start, meter, expected,
                                   actual, difference, tolerance, verdict, detail)
SELECT $1, c.check_name, c.measure, c.account_ext, c.period_local_start, c.meter, c.expected, c.actual,
       c.actual - c.expected, c.tolerance, coalesce(c.verdict, reconcile_verdict(c.expected, c.actual, c.tolerance)),
       c.detail
FROM computed c
ORDER BY c.account_ext, c.period_local_start, c.check_name, c.meter

-- name: reconcile_rate_checks
-- Aggregated vs rated: each meter priced on a usage line of a current
-- rating of this run (the line's quantity is the value it priced; lines
-- of one meter that disagree count with the one farthest off), and every
-- snapshot this run made that no rating covers. Meters with a value and
-- no usage line are usage with no price: the quarantine step holds them.
-- Held ratings are the quarantine step's too. $3, $4: quantity tolerance.
WITH lines AS (
  SELECT l.rating_id, l.meter, min(l.quantity) AS qmin, max(l.quantity) AS qmax, count(*) AS n
  FROM rated_lines l
  WHERE l.rating_id IN (SELECT id FROM rec_ratings) AND l.kind = 'usage'
  GROUP BY l.rating_id, l.meter
), snaps AS (
  SELECT DISTINCT ON (s.account_ext, s.period_local_start) s.id, s.account_ext, s.period_local_start
  FROM agg_snapshots s
  WHERE s.run_id = $1 AND ($2::text IS NULL OR s.account_ext = $2)
  ORDER BY s.account_ext, s.period_local_start, s.id DESC
), computed AS (
  SELECT r.account_ext, r.period_local_start, l.meter, coalesce(v.value, 0) AS expected,
         CASE WHEN abs(l.qmax - coalesce(v.value, 0)) >= abs(l.qmin - coalesce(v.value, 0)) THEN l.qmax
              ELSE l.qmin END AS actual,
         format('account ''%s'' period %s meter ''%s'': aggregated %s (snapshot %s), rated %s on %s usage line%s of rating %s',
                r.account_ext, r.period_local_start, l.meter, coalesce(v.value, 0), r.snapshot_id,
                CASE WHEN l.qmin = l.qmax THEN l.qmin::text ELSE l.qmin || ' .. ' || l.qmax END, l.n,
                CASE WHEN l.n = 1 THEN '' ELSE 's' END, r.id) AS detail
  FROM rec_ratings r
  JOIN lines l ON l.rating_id = r.id
  LEFT JOIN agg_values v ON v.snapshot_id = r.snapshot_id AND v.meter = l.meter
  WHERE r.status = 'rated'
  UNION ALL
  SELECT s.account_ext, s.period_local_start, v.meter, coalesce(v.value, 0), NULL,
         format('account ''%s'' period %s%s: snapshot %s was not rated', s.account_ext, s.period_local_start,
                coalesce(' meter ''' || v.meter || '''', ''), s.id)
  FROM snaps s
  LEFT JOIN agg_values v ON v.snapshot_id = s.id
  WHERE NOT EXISTS (SELECT 1 FROM ratings r WHERE r.snapshot_id = s.id)
    AND NOT EXISTS (SELECT 1 FROM agg_snapshots n
                    WHERE n.account_ext = s.account_ext AND n.period_local_start = s.period_local_start
                      AND n.id > s.id)
)
INSERT INTO reconciliation_checks (run_id, check_name, measure, account_ext, period_local_start, meter, expected,
                                   actual, difference, tolerance, verdict, detail)
SELECT $1, 'rate_quantity', 'quantity', c.account_ext, c.period_local_start, c.meter, c.expected, c.actual,
       c.actual - c.expected, reconcile_tolerance(c.expected, $3::numeric, $4::numeric),
       reconcile_verdict(c.expected, c.actual, reconcile_tolerance(c.expected, $3::numeric, $4::numeric)), c.detail
FROM computed c
ORDER BY c.account_ext, c.period_local_start, c.meter

-- name: reconcile_focus_checks
-- FOCUS: the sum of BilledCost of an account period's billable usage
-- against its chargeback total: what the chargeback charges the cost
-- centre for it, chargeback_charge() (014), the pre-tax subtotal of the
-- period's current rating, in the account's currency; the chargeback step
-- reports the same amount. Compared only where all of the period's
-- billable usage carries a cost, in the account's currency; otherwise
-- 'skip', saying why. $2, $3: amount tolerance.
WITH cost AS (
  SELECT account_ext, period_local_start, sum(cost) AS cost, sum(cost_records) AS n,
         sum(other_records) AS other, min(currency_min) AS cmin, max(currency_max) AS cmax
  FROM rec_counted GROUP BY account_ext, period_local_start
), computed AS (
  SELECT r.account_ext, r.period_local_start, r.currency, c.cost AS expected, ch.charged AS actual,
         reconcile_tolerance(c.cost, $2::numeric, $3::numeric) AS tolerance,
         CASE WHEN c.other > 0 OR c.cmin <> c.cmax OR c.cmin <> r.currency THEN 'skip' END AS verdict,
         format('account ''%s'' period %s: BilledCost %s %s in %s records, chargeback charges %s %s (rating %s)%s',
                r.account_ext, r.period_local_start, c.cost, coalesce(c.cmin, ''), c.n, ch.charged, r.currency, ch.rating_id,
                CASE WHEN c.other > 0 THEN format('; not compared: %s billable records carry no cost', c.other)
                     WHEN c.cmin <> c.cmax THEN format('; not compared: costs in %s and %s', c.cmin, c.cmax)
                     WHEN c.cmin <> r.currency THEN format('; not compared: BillingCurrency %s is not the account''s %s',
                                                          c.cmin, r.currency)
                     ELSE '' END) AS detail
  FROM rec_ratings r
  JOIN cost c ON c.account_ext = r.account_ext AND c.period_local_start = r.period_local_start
  CROSS JOIN LATERAL chargeback_charge(r.account_ext, r.period_local_start) ch
  WHERE r.status = 'rated' AND c.n > 0
)
INSERT INTO reconciliation_checks (run_id, check_name, measure, account_ext, period_local_start, currency, expected,
                                   actual, difference, tolerance, verdict, detail)
SELECT $1, 'focus_cost', 'amount', c.account_ext, c.period_local_start, c.currency, c.expected, c.actual,
       c.actual - c.expected, c.tolerance, coalesce(c.verdict, reconcile_verdict(c.expected, c.actual, c.tolerance)),
       c.detail
FROM computed c
ORDER BY c.account_ext, c.period_local_start

-- name: reconcile_drift
-- Tonight's billable quantity per account and meter against the same
-- DAG's last $2 reconciled nightly runs (not reruns) before this run's
-- day; a night without usage counts as 0. Evaluated only where the meter
-- was used on at least $3 of those nights; flagged when it lies more than
-- $4 standard deviations (population) from their mean (any change, when
-- the history never varied). Only flagged pairs are stored: 'warn', or
-- 'fail' when $5 (reconcile.drift_hold) is true. Returns how many pairs
-- were evaluated.
WITH me AS (
  SELECT id, dag, period_start FROM runs WHERE id = $1
), hist AS (
  SELECT rr.run_id FROM reconcile_runs rr JOIN runs r ON r.id = rr.run_id, me
  WHERE rr.dag = me.dag AND rr.period_kind = 'day' AND rr.period_start < me.period_start
    AND r.rerun_of IS NULL
  ORDER BY rr.period_start DESC
  LIMIT $2::integer
), nights AS (
  SELECT count(*)::numeric AS n FROM hist
), today AS (
  SELECT account_ext, meter, sum(quantity) AS q FROM rec_usage GROUP BY account_ext, meter
), past AS (
  SELECT t.account_ext, t.meter, count(*) AS used, sum(t.quantity) AS s, sum(t.quantity * t.quantity) AS s2
  FROM reconcile_run_totals t
  WHERE t.run_id IN (SELECT run_id FROM hist)
    AND (t.account_ext, t.meter) IN (SELECT account_ext, meter FROM today)
  GROUP BY t.account_ext, t.meter
), stats AS (
  SELECT d.account_ext, d.meter, d.q, p.used, nights.n, p.s / nights.n AS mean,
         sqrt(greatest(p.s2 / nights.n - (p.s / nights.n) * (p.s / nights.n), 0)) AS sd
  FROM today d JOIN past p ON p.account_ext = d.account_ext AND p.meter = d.meter, nights
  WHERE p.used >= $3::integer AND nights.n > 0
), flagged AS (
  INSERT INTO reconciliation_checks (run_id, check_name, measure, account_ext, meter, expected, actual, difference,
                                     tolerance, verdict, detail)
  SELECT $1, 'drift', 'quantity', s.account_ext, s.meter, round(s.mean, 6), s.q, s.q - round(s.mean, 6),
         round($4::numeric * s.sd, 6), CASE WHEN $5::boolean THEN 'fail' ELSE 'warn' END,
         format('account ''%s'' meter ''%s'': %s tonight, mean %s and standard deviation %s over the last %s nights (used on %s); band %s +- %s',
                s.account_ext, s.meter, s.q, round(s.mean, 6), round(s.sd, 6), s.n, s.used, round(s.mean, 6),
                round($4::numeric * s.sd, 6))
  FROM stats s
  WHERE abs(s.q - s.mean) > $4::numeric * s.sd
  ORDER BY s.account_ext, s.meter
  RETURNING 1
)
SELECT (SELECT count(*) FROM stats), (SELECT count(*) FROM flagged), (SELECT n FROM nights)

-- name: reconcile_holds
-- A failing check holds the account periods it concerns, once per run,
-- account period and reason: an account check its own period, a file
-- check every account period of the file, a drift check (with
-- reconcile.drift_hold) the periods the run's days fall in. Returns the
-- new holds' ids.
WITH failed AS (
  SELECT * FROM reconciliation_checks WHERE run_id = $1 AND verdict = 'fail'
), concern AS (
  SELECT f.id, f.check_name, f.account_ext, f.period_local_start, f.detail
  FROM failed f WHERE f.account_ext IS NOT NULL AND f.period_local_start IS NOT NULL
  UNION ALL
  SELECT f.id, f.check_name, a.account_ext, a.period_local_start, f.detail
  FROM failed f JOIN rec_file_accounts a ON a.file_id = f.file_id
  WHERE f.account_ext IS NULL AND f.file_id IS NOT NULL
  UNION ALL
  SELECT f.id, f.check_name, f.account_ext, rp.local_start, f.detail
  FROM failed f CROSS JOIN LATERAL reconcile_run_periods(f.account_ext, $1) rp
  WHERE f.account_ext IS NOT NULL AND f.period_local_start IS NULL
), grouped AS (
  SELECT c.account_ext, c.period_local_start, c.check_name, count(*) AS n,
         (array_agg('check ' || c.id || ': ' || c.detail ORDER BY c.id))[1:3] AS first
  FROM concern c
  WHERE ($2::text IS NULL OR c.account_ext = $2)
  GROUP BY c.account_ext, c.period_local_start, c.check_name
)
INSERT INTO account_holds (run_id, account_ext, period_start, reason, detail)
SELECT $1, g.account_ext, g.period_local_start, g.check_name,
       CASE WHEN g.n = 1 THEN g.first[1]
            ELSE g.n || ' failed checks; ' || array_to_string(g.first, '; ') || CASE WHEN g.n > 3 THEN '; ...' ELSE '' END
       END
FROM grouped g
WHERE NOT EXISTS (SELECT 1 FROM account_holds h
                  WHERE h.run_id = $1 AND h.account_ext = g.account_ext AND h.period_start = g.period_local_start
                    AND h.reason = g.check_name)
ORDER BY g.account_ext, g.period_local_start, g.check_name
RETURNING id

-- name: reconcile_summary
-- This run's checks by verdict, and the number of its files.
SELECT count(*),
       count(*) FILTER (WHERE verdict = 'fail'),
       count(*) FILTER (WHERE verdict = 'warn'),
       count(*) FILTER (WHERE verdict = 'skip'),
       (SELECT count(*) FROM ingest_files WHERE run_id = $1)
FROM reconciliation_checks WHERE run_id = $1

-- name: reconcile_findings
-- The checks to report in the log: failures and warnings, first ones first.
SELECT check_name, verdict, detail FROM reconciliation_checks
WHERE run_id = $1 AND verdict IN ('fail', 'warn')
ORDER BY id
LIMIT $2::integer

-- name: reconcile_run_store
-- The run's summary ($3..$9: files, checks, failed, warned, skipped, holds)
-- and what it accepted per account and meter, for later nights' drift.
WITH me AS (
  INSERT INTO reconcile_runs (run_id, dag, period_kind, period_start, files, checks, failed, warned, skipped, holds)
  SELECT r.id, r.dag, r.period_kind, r.period_start, $2, $3, $4, $5, $6, $7 FROM runs r WHERE r.id = $1
  RETURNING run_id
)
INSERT INTO reconcile_run_totals (run_id, account_ext, meter, records, quantity)
SELECT me.run_id, u.account_ext, u.meter, sum(u.billable), sum(u.quantity)
FROM rec_usage u, me
GROUP BY me.run_id, u.account_ext, u.meter
