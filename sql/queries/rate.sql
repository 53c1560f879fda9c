-- The rate step (jobs/rate.c): which snapshots to rate, their values and
-- subscriptions, FX rates; one REPEATABLE READ transaction.

-- name: rate_candidates
-- Snapshots to rate: queued ones; ones this run ($1) rated before (a rerun
-- of the step replaces them); for a one-account rerun ($2) every period of
-- the account overlapping the run's period $3 .. $4; and periods whose
-- current rating is held (retried until what was missing is there; the
-- last column gives the held rating's reason and detail, so that an
-- unchanged outcome is not stored again). Only the newest snapshot of a
-- period is rated. Times are returned in UTC.
WITH held AS (
  SELECT r.snapshot_id AS id, r.hold_reason || ': ' || coalesce(r.hold_detail, '') AS why
  FROM ratings r
  WHERE r.status = 'held' AND ($2::text IS NULL OR r.account_ext = $2)
    AND NOT EXISTS (SELECT 1 FROM ratings n
                    WHERE n.account_ext = r.account_ext AND n.period_local_start = r.period_local_start
                      AND (n.snapshot_id, n.id) > (r.snapshot_id, r.id))
), cand AS (
  SELECT p.snapshot_id AS id FROM rate_pending p JOIN agg_snapshots s ON s.id = p.snapshot_id
  WHERE $2::text IS NULL OR s.account_ext = $2
  UNION
  SELECT r.snapshot_id FROM ratings r WHERE r.run_id = $1 AND ($2::text IS NULL OR r.account_ext = $2)
  UNION
  SELECT s.id FROM agg_snapshots s
  WHERE $2::text IS NOT NULL AND s.account_ext = $2
    AND s.period_local_start < $4::date AND s.period_local_end > $3::date
  UNION
  SELECT id FROM held
)
SELECT s.id, s.account_ext, s.account_id, s.period_local_start::text, s.period_local_end::text,
       (s.period_local_end - 1)::text,
       to_char(s.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(s.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       s.time_zone, s.closed, s.usage_records - s.usage_not_billable, a.currency, a.tax_jurisdiction,
       (extract(epoch FROM s.period_end) - extract(epoch FROM s.period_start))::text,
       (SELECT h.why FROM held h WHERE h.id = s.id
          AND NOT EXISTS (SELECT 1 FROM rate_pending p WHERE p.snapshot_id = s.id)
          AND NOT EXISTS (SELECT 1 FROM ratings r WHERE r.snapshot_id = s.id AND r.run_id = $1))
FROM cand c
JOIN agg_snapshots s ON s.id = c.id
JOIN accounts a ON a.id = s.account_id
WHERE NOT EXISTS (SELECT 1 FROM agg_snapshots n
                  WHERE n.account_ext = s.account_ext AND n.period_local_start = s.period_local_start
                    AND n.id > s.id)
ORDER BY s.id

-- name: rate_values
-- The aggregated values of the snapshots $1 (an array of ids).
SELECT v.snapshot_id, v.meter, v.aggregation, v.value::text, v.records, v.quantity_raw::text
FROM agg_values v
WHERE v.snapshot_id = ANY ($1::bigint[])
ORDER BY v.snapshot_id, v.meter

-- name: rate_segments
-- The subscriptions overlapping each snapshot's period ($1: ids), clipped
-- to it: seconds covered (exact numeric), the first local day the segment
-- is in force within the period (decides the plan version), its ends, and
-- its ends as epoch seconds (exact numeric; a charge's own dates are cut
-- against them).
SELECT s.id, sub.id, sub.plan,
       (extract(epoch FROM g.seg_to) - extract(epoch FROM g.seg_from))::text,
       greatest(s.period_local_start, (sub.valid_from AT TIME ZONE s.time_zone)::date)::text,
       to_char(g.seg_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       to_char(g.seg_to AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       extract(epoch FROM g.seg_from)::text, extract(epoch FROM g.seg_to)::text
FROM agg_snapshots s
JOIN subscriptions sub ON sub.account_ext = s.account_ext AND sub.valid_from < s.period_end
                      AND (sub.valid_to IS NULL OR sub.valid_to > s.period_start)
CROSS JOIN LATERAL (
  SELECT greatest(sub.valid_from, s.period_start) AS seg_from,
         least(coalesce(sub.valid_to, 'infinity'), s.period_end) AS seg_to
) g
WHERE s.id = ANY ($1::bigint[])
ORDER BY s.id, sub.valid_from

-- name: rate_local_midnight
-- Local midnight of date $1 in time zone $2: a charge's own
-- effective_from / effective_to, as epoch seconds (exact numeric) and in
-- UTC.
SELECT extract(epoch FROM ($1::date::timestamp AT TIME ZONE $2))::text,
       to_char(($1::date::timestamp AT TIME ZONE $2) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')

-- name: rate_fx
-- The rate to convert $1 into $2 on date $3: the latest published on or
-- before it, quoted either way (inverse = it must be divided by); on the
-- same date a direct quote wins, then the latest correction.
SELECT id, rate::text, as_of::text, base = $2 AS inverse
FROM fx_rates
WHERE ((base = $1 AND quote = $2) OR (base = $2 AND quote = $1)) AND as_of <= $3::date
ORDER BY as_of DESC, (base = $1) DESC, id DESC
LIMIT 1

-- name: rate_ids
-- Rating ids for $1 new ratings, so that ratings and lines go in by COPY.
SELECT nextval('ratings_id_seq') FROM generate_series(1, $1::integer)

-- name: rate_copy_ratings
COPY ratings (id, run_id, rule_version, snapshot_id, account_ext, account_id, period_local_start,
              period_local_end, closed, currency, rounding, status, hold_reason, hold_detail, subtotal,
              tax_total, total) FROM STDIN

-- name: rate_copy_lines
COPY rated_lines (rating_id, run_id, rule_version, line_no, kind, account_ext, period_local_start, plan,
                  plan_effective_from, charge, meter, model, tax_group, quantity, billable_quantity,
                  proration_part, proration_whole, price_currency, amount_price_currency, fx_rate,
                  fx_inverse, fx_as_of, fx_rate_id, currency, amount_unrounded, amount, tax_rate, tax_base,
                  tax_jurisdiction, detail) FROM STDIN

-- name: rate_pending_consume
-- Remove the queue rows this transaction has seen ($1: one account only).
DELETE FROM rate_pending p USING agg_snapshots s
WHERE s.id = p.snapshot_id AND ($1::text IS NULL OR s.account_ext = $1)
