-- The aggregate step (jobs/aggregate.c). All statements run in one
-- REPEATABLE READ transaction: the targets are gathered into a temporary
-- table, every target period is recomputed from all of its usage, and the
-- work queue rows that were read are removed.

-- name: aggregate_trigger_present
SELECT count(*) FROM pg_trigger WHERE tgname = 'usage_dirty' AND tgrelid = to_regclass('usage_partials')

-- name: aggregate_targets_create
CREATE TEMPORARY TABLE agg_targets (
  account_ext         text NOT NULL,
  period_local_start  date NOT NULL,
  period_local_end    date NOT NULL,
  period_start        timestamptz NOT NULL,
  period_end          timestamptz NOT NULL,
  account_id          bigint NOT NULL,
  time_zone           text NOT NULL,
  anchor_day          smallint NOT NULL,
  reason              text NOT NULL,
  -- the snapshot's id, drawn up front so that usage joined to a target
  -- carries it (no second join of the usage to the new snapshots)
  snapshot_id         bigint NOT NULL DEFAULT nextval('agg_snapshots_id_seq'),
  PRIMARY KEY (account_ext, period_local_start)
) ON COMMIT DROP

-- name: aggregate_targets_dirty
-- Periods with new usage: each queue row names an account and the span of
-- event times one statement loaded; every period overlapping a span is
-- recomputed. Accounts that are not (yet) known stay in the queue.
INSERT INTO agg_targets (account_ext, period_local_start, period_local_end, period_start, period_end, account_id,
                         time_zone, anchor_day, reason)
SELECT d.account_ext, p.local_start, p.local_end, p.start_at, p.end_at, p.account_id, p.time_zone,
       p.anchor_day, 'usage'
FROM (SELECT account_ext, min(first_event) AS first_event, max(last_event) AS last_event
      FROM usage_dirty GROUP BY account_ext) d
CROSS JOIN LATERAL billing_periods(d.account_ext, d.first_event, d.last_event + interval '1 microsecond') p
WHERE EXISTS (SELECT 1 FROM usage_dirty x
              WHERE x.account_ext = d.account_ext AND x.first_event < p.end_at AND x.last_event >= p.start_at)
ON CONFLICT DO NOTHING

-- name: aggregate_targets_close
-- Periods that end within the run's period ($1 .. $2, local end date in
-- (start, end]) and have a subscription, or usage near them: the run
-- closes them, unless another run already has. $3 = this run. The
-- accounts that used something near them are found in the partial sums
-- (023) of that time, not in usage.
INSERT INTO agg_targets (account_ext, period_local_start, period_local_end, period_start, period_end, account_id,
                         time_zone, anchor_day, reason)
SELECT a.external_id, p.local_start, p.local_end, p.start_at, p.end_at, p.account_id, p.time_zone,
       p.anchor_day, 'close'
FROM (SELECT DISTINCT external_id FROM accounts) a
CROSS JOIN LATERAL billing_periods(a.external_id, ($1::date - 40)::timestamp AT TIME ZONE 'UTC',
                                   ($2::date + 2)::timestamp AT TIME ZONE 'UTC') p
WHERE p.local_end > $1::date AND p.local_end <= $2::date
  AND (EXISTS (SELECT 1 FROM subscriptions s
               WHERE s.account_ext = a.external_id AND s.valid_from < p.end_at
                 AND (s.valid_to IS NULL OR s.valid_to > p.start_at))
       OR a.external_id IN (SELECT DISTINCT p.account_ext FROM usage_partials p
                            WHERE p.last_event >= ($1::date - 40)::timestamp AT TIME ZONE 'UTC'
                              AND p.first_event < ($2::date + 2)::timestamp AT TIME ZONE 'UTC'))
  AND NOT EXISTS (SELECT 1 FROM agg_snapshots s
                  WHERE s.account_ext = a.external_id AND s.period_local_start = p.local_start
                    AND s.closed AND s.run_id <> $3)
ON CONFLICT DO NOTHING

-- name: aggregate_targets_rerun
-- What this run ($1) aggregated before, when its step is run again: the
-- rerun replaces those results. $2 limits it to one account.
INSERT INTO agg_targets (account_ext, period_local_start, period_local_end, period_start, period_end, account_id,
                         time_zone, anchor_day, reason)
SELECT DISTINCT ON (s.account_ext, s.period_local_start)
       s.account_ext, p.local_start, p.local_end, p.start_at, p.end_at, p.account_id, p.time_zone,
       p.anchor_day, 'rerun'
FROM agg_snapshots s
CROSS JOIN LATERAL billing_period_at(s.account_ext, s.period_start) p
WHERE s.run_id = $1 AND ($2::text IS NULL OR s.account_ext = $2)
ORDER BY s.account_ext, s.period_local_start, s.id DESC
ON CONFLICT DO NOTHING

-- name: aggregate_targets_account
-- A dispute rerun for one account ($1): every period of it that overlaps
-- the run's period $2 .. $3 (local dates).
INSERT INTO agg_targets (account_ext, period_local_start, period_local_end, period_start, period_end, account_id,
                         time_zone, anchor_day, reason)
SELECT $1, p.local_start, p.local_end, p.start_at, p.end_at, p.account_id, p.time_zone, p.anchor_day, 'account'
FROM billing_periods($1, ($2::date - 2)::timestamp AT TIME ZONE 'UTC', ($3::date + 2)::timestamp AT TIME ZONE 'UTC') p
WHERE p.local_start < $3::date AND p.local_end > $2::date
ON CONFLICT DO NOTHING

-- name: aggregate_targets_analyze
-- Statistics for the planner: how many targets, how many accounts.
ANALYZE agg_targets

-- name: aggregate_window
-- The time window all targets lie in, passed back to aggregate_store as
-- values so that the planner knows how much usage it will read.
SELECT min(period_start)::text, max(period_end)::text FROM agg_targets

-- name: aggregate_hash_on
-- Right after ingest, usage has usually not been analyzed: the planner
-- then expects a thousand rows, looks each record's meter up in an index
-- and sorts the join to group it (2.5x slower than hashing, measured with
-- 500,000 records). Around the store statement it hashes instead.
SET LOCAL enable_nestloop = off;
SET LOCAL enable_sort = off

-- name: aggregate_hash_off
SET LOCAL enable_nestloop = on;
SET LOCAL enable_sort = on

-- name: aggregate_store
-- One snapshot per target with every meter's value, queued for rating.
-- The partial sums (023) of the targets' accounts overlapping the time
-- window of all targets ($3 .. $4) are added up per account and meter. A
-- group wholly inside its account's one target, rounded with the meter's
-- current increment (the common case), is that target's; the usage rows
-- of accounts with several targets, with partials outside their one
-- target or rounded otherwise, are joined to the targets one by one in a
-- scan of the window's usage (usage has no index on accounts or times),
-- which runs only when there are such accounts (the EXISTS is evaluated
-- once, before it). $5 = aggregate.source: 'usage' sends every account
-- that way. The groups give everything: the
-- snapshot's counts, and the meters' sum, count and max; unique_count and
-- latest, which need each record's attribute or time, read their own
-- meters' records again, and only when such a meter exists. Only
-- billable records of the charge categories a meter counts
-- (billrun_meter_counts, migration 017: FOCUS credits, adjustments,
-- purchases and taxes only where the meter lists them) are aggregated;
-- the others (unanswered calls, those FOCUS rows) are counted in the
-- snapshot's usage_records. A unique_count meter counts distinct
-- non-blank values (billrun_unique_value, 017). Per-record rounding (billrun_round_up, migration 016) goes up
-- (away from zero) to a multiple of the meter's round_increment, before
-- any aggregation. $1 = run, $2 = the run's period end (a period that ended by
-- then is closed). Returns: snapshots, records aggregated, billable
-- records whose meter is not in table meters, snapshots queued, and the
-- accounts whose targets were recomputed from usage rows.
WITH one_target AS (
  SELECT account_ext, min(snapshot_id) AS snapshot_id, min(period_start) AS period_start,
         min(period_end) AS period_end
  FROM agg_targets GROUP BY account_ext HAVING count(*) = 1
), by_account AS (
  SELECT p.account_ext, p.meter, m.name, m.aggregation, m.round_increment,
         min(p.first_event) AS first_event, max(p.last_event) AS last_event,
         sum(p.records) AS n, sum(p.records - p.billable) AS nb, max(p.max_usage_id) AS max_id,
         coalesce(sum(p.billable) FILTER (WHERE c.counted), 0) AS records,
         sum(p.quantity) FILTER (WHERE c.counted AND p.billable > 0) AS quantity_raw,
         sum(p.quantity_rounded) FILTER (WHERE c.counted AND p.billable > 0) AS q_sum,
         max(p.rounded_max) FILTER (WHERE c.counted) AS q_max,
         bool_and(m.name IS NULL OR p.round_increment IS NOT DISTINCT FROM m.round_increment) AS same_rounding
  FROM usage_partials p
  LEFT JOIN meters m ON m.name = p.meter
  CROSS JOIN LATERAL (SELECT p.category = ANY (coalesce(m.charge_categories, '{Usage}')) AS counted) c
  WHERE p.account_ext IN (SELECT account_ext FROM agg_targets)
    AND p.last_event >= $3::timestamptz AND p.first_event < $4::timestamptz
    AND $5::text = 'partials'
  GROUP BY p.account_ext, p.meter, m.name, m.aggregation, m.round_increment
), unsettled AS (
  SELECT t.account_ext FROM agg_targets t
  WHERE NOT EXISTS (SELECT 1 FROM one_target o WHERE o.account_ext = t.account_ext)
     OR $5::text = 'usage'
  UNION
  SELECT b.account_ext FROM by_account b JOIN one_target o ON o.account_ext = b.account_ext
  WHERE b.first_event < o.period_start OR b.last_event >= o.period_end OR NOT b.same_rounding
), per_record AS (
  SELECT t.snapshot_id, u.meter, m.name, m.aggregation, m.round_increment,
         count(*) AS n, count(*) FILTER (WHERE NOT u.billable) AS nb, max(u.usage_id) AS max_id,
         count(*) FILTER (WHERE r.counted) AS records,
         sum(u.quantity) FILTER (WHERE r.counted) AS quantity_raw,
         sum(r.q) FILTER (WHERE r.counted) AS q_sum,
         max(r.q) FILTER (WHERE r.counted) AS q_max
  FROM usage u
  JOIN (SELECT * FROM agg_targets WHERE account_ext IN (SELECT account_ext FROM unsettled)) t
    ON t.account_ext = u.account_ext
  LEFT JOIN meters m ON m.name = u.meter
  CROSS JOIN LATERAL (SELECT billrun_round_up(u.quantity, m.round_increment) AS q,
                             u.billable AND billrun_meter_counts(m.charge_categories, u.cost, u.attributes)
                               AS counted) r
  WHERE EXISTS (SELECT 1 FROM unsettled)
    AND u.event_time >= $3::timestamptz AND u.event_time < $4::timestamptz
    AND u.event_time >= t.period_start AND u.event_time < t.period_end
  GROUP BY t.snapshot_id, u.meter, m.name, m.aggregation, m.round_increment
), grouped AS (
  SELECT o.snapshot_id, b.meter, b.name, b.aggregation, b.round_increment, b.n, b.nb, b.max_id, b.records,
         b.quantity_raw, b.q_sum, b.q_max
  FROM by_account b JOIN one_target o ON o.account_ext = b.account_ext
  WHERE NOT EXISTS (SELECT 1 FROM unsettled x WHERE x.account_ext = b.account_ext)
  UNION ALL
  SELECT snapshot_id, meter, name, aggregation, round_increment, n, nb, max_id, records, quantity_raw, q_sum, q_max
  FROM per_record
), special AS (
  SELECT t.snapshot_id, m.name,
         CASE m.aggregation
           WHEN 'unique_count' THEN count(DISTINCT billrun_unique_value(u.attributes, m.unique_attribute))
           ELSE (array_agg(billrun_round_up(u.quantity, m.round_increment)
                           ORDER BY u.event_time DESC, u.usage_id DESC))[1]
         END AS value
  FROM usage u
  JOIN agg_targets t ON t.account_ext = u.account_ext
  JOIN meters m ON m.name = u.meter AND m.aggregation IN ('unique_count', 'latest')
  WHERE EXISTS (SELECT 1 FROM meters x WHERE x.aggregation IN ('unique_count', 'latest'))
    AND u.billable AND billrun_meter_counts(m.charge_categories, u.cost, u.attributes)
    AND u.event_time >= $3::timestamptz AND u.event_time < $4::timestamptz
    AND u.event_time >= t.period_start AND u.event_time < t.period_end
  GROUP BY t.snapshot_id, m.name, m.aggregation
), counts AS (
  SELECT snapshot_id, sum(n) AS n, sum(nb) AS nb, max(max_id) AS max_id FROM grouped GROUP BY snapshot_id
), snap AS (
  INSERT INTO agg_snapshots (id, run_id, account_ext, account_id, period_local_start, period_local_end,
                             period_start, period_end, time_zone, anchor_day, closed, reason,
                             usage_records, usage_not_billable, usage_max_id)
  SELECT t.snapshot_id, $1, t.account_ext, t.account_id, t.period_local_start, t.period_local_end,
         t.period_start, t.period_end, t.time_zone, t.anchor_day, t.period_local_end <= $2::date, t.reason,
         coalesce(c.n, 0), coalesce(c.nb, 0), c.max_id
  FROM agg_targets t
  LEFT JOIN counts c ON c.snapshot_id = t.snapshot_id
  ORDER BY t.snapshot_id
  RETURNING id
), vals AS (
  INSERT INTO agg_values (snapshot_id, meter, aggregation, round_increment, value, records, quantity_raw,
                          quantity_rounded)
  SELECT g.snapshot_id, g.name, g.aggregation, g.round_increment,
         CASE g.aggregation WHEN 'sum' THEN g.q_sum WHEN 'count' THEN g.records WHEN 'max' THEN g.q_max
              ELSE s.value END,
         g.records, g.quantity_raw, g.q_sum
  FROM grouped g
  LEFT JOIN special s ON s.snapshot_id = g.snapshot_id AND s.name = g.name
  WHERE g.name IS NOT NULL AND g.records > 0
  RETURNING snapshot_id, records
), queued AS (
  INSERT INTO rate_pending (snapshot_id) SELECT id FROM snap
  ON CONFLICT DO NOTHING
  RETURNING snapshot_id
)
SELECT (SELECT count(*) FROM snap),
       (SELECT coalesce(sum(records), 0) FROM vals),
       (SELECT coalesce(sum(records), 0) FROM grouped WHERE name IS NULL),
       (SELECT count(*) FROM queued),
       (SELECT count(*) FROM unsettled)

-- name: aggregate_dirty_unknown
-- Queued usage of accounts that are not known: left in the queue, reported.
SELECT count(DISTINCT d.account_ext), coalesce(sum(d.records), 0) FROM usage_dirty d
WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.external_id = d.account_ext)

-- name: aggregate_dirty_consume
-- Remove the queue rows this transaction has seen (REPEATABLE READ: rows
-- added since are not visible, so they stay).
DELETE FROM usage_dirty d
WHERE EXISTS (SELECT 1 FROM accounts a WHERE a.external_id = d.account_ext)
