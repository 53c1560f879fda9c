-- billrun explain (cmd/cmd_explain.c): a rating and its lines, read-only.

-- name: rate_explain_ratings
-- The ratings of account $1 for the period given as $2 (a local date the
-- period contains, or with $3 = 'month' the periods starting in that
-- month). Without a run ($4 NULL) the current rating of each period; with
-- a run, the newest rating that run made.
SELECT r.id, r.run_id, coalesce(r.rule_version, 0), coalesce(v.sha256, ''), r.period_local_start::text,
       r.period_local_end::text, r.closed, r.currency, r.rounding, r.status, coalesce(r.hold_reason, ''),
       coalesce(r.hold_detail, ''), r.subtotal::text, r.tax_total::text, r.total::text,
       s.id, s.time_zone, s.anchor_day,
       to_char(s.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(s.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       (extract(epoch FROM s.period_end) - extract(epoch FROM s.period_start))::text,
       s.usage_records, s.usage_not_billable, s.run_id, a.tax_jurisdiction, a.id,
       to_char(r.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM (SELECT DISTINCT ON (period_local_start) *
      FROM ratings
      WHERE account_ext = $1 AND ($4::bigint IS NULL OR run_id = $4::bigint)
        AND CASE WHEN $3 = 'month'
                 THEN period_local_start >= $2::date AND period_local_start < ($2::date + interval '1 month')
                 ELSE period_local_start <= $2::date AND period_local_end > $2::date END
      ORDER BY period_local_start, snapshot_id DESC, id DESC) r
JOIN agg_snapshots s ON s.id = r.snapshot_id
JOIN accounts a ON a.id = r.account_id
LEFT JOIN rule_versions v ON v.id = r.rule_version
ORDER BY r.period_local_start

-- name: rate_explain_lines
-- The lines of rating $1 with the facts kept in their detail.
SELECT line_no, kind, coalesce(plan, ''), coalesce(plan_effective_from::text, ''), coalesce(charge, ''),
       coalesce(meter, ''), coalesce(model, ''), coalesce(tax_group, ''), coalesce(quantity::text, ''),
       coalesce(billable_quantity::text, ''), coalesce(proration_part::text, ''),
       coalesce(proration_whole::text, ''), coalesce(price_currency, ''),
       coalesce(amount_price_currency::text, ''), coalesce(fx_rate::text, ''), coalesce(fx_inverse, false),
       coalesce(fx_as_of::text, ''), currency, amount_unrounded::text, amount::text,
       coalesce(tax_rate::text, ''), coalesce(tax_base::text, ''), coalesce(tax_jurisdiction, ''),
       id, run_id, coalesce(rule_version, 0),
       coalesce(detail ->> 'aggregation', ''), coalesce(detail ->> 'records', ''),
       coalesce(detail ->> 'quantity_raw', ''), coalesce(detail ->> 'free_units', ''),
       coalesce(detail ->> 'free', ''), coalesce(detail ->> 'package_size', ''),
       coalesce(detail ->> 'packages', ''), coalesce(detail ->> 'amount', ''),
       coalesce(detail ->> 'prorate', ''), coalesce(detail ->> 'subscription', ''),
       coalesce(detail ->> 'from', ''), coalesce(detail ->> 'to', ''), coalesce(detail ->> 'minimum', ''),
       coalesce(detail ->> 'required', ''), coalesce(detail ->> 'usage_total', ''),
       coalesce(detail ->> 'met', ''), coalesce(detail ->> 'name', ''), coalesce(detail ->> 'effective_from', '')
FROM rated_lines WHERE rating_id = $1 ORDER BY line_no

-- name: rate_explain_steps
-- The tier steps of line $1, in order.
SELECT s ->> 'tier', coalesce(s ->> 'from', ''), coalesce(s ->> 'to', ''), s ->> 'units', s ->> 'price',
       s ->> 'flat', s ->> 'amount'
FROM rated_lines l, jsonb_array_elements(l.detail -> 'steps') WITH ORDINALITY AS t(s, n)
WHERE l.id = $1
ORDER BY n

-- name: rate_explain_values
SELECT meter, aggregation, coalesce(round_increment::text, ''), value::text, records, quantity_raw::text,
       quantity_rounded::text
FROM agg_values WHERE snapshot_id = $1 ORDER BY meter

-- name: rate_explain_records
-- The usage records of snapshot $1's account and period as they are now,
-- with their per-record rounding, in the account's local time (the caller
-- compares their number with the snapshot's), and why a record is in no
-- value: not billable, a charge category its meter does not count, or
-- (unique_count) no value of the attribute (017); else ''.
SELECT u.usage_id, to_char(u.event_time AT TIME ZONE s.time_zone, 'YYYY-MM-DD HH24:MI:SS'), u.meter,
       u.quantity::text,
       billrun_round_up(u.quantity, m.round_increment)::text,
       coalesce(u.source, ''), coalesce(u.file_id::text, ''), coalesce(u.line_no::text, ''),
       coalesce(u.event_key, ''),
       CASE WHEN NOT u.billable THEN 'not billable'
            WHEN NOT billrun_meter_counts(m.charge_categories, u.cost, u.attributes)
              THEN format('%s: not counted by the meter', billrun_charge_category(u.cost, u.attributes))
            WHEN m.aggregation = 'unique_count' AND billrun_unique_value(u.attributes, m.unique_attribute) IS NULL
              THEN format('no %s: not counted', m.unique_attribute)
            ELSE '' END
FROM agg_snapshots s
JOIN usage u ON u.account_ext = s.account_ext AND u.event_time >= s.period_start AND u.event_time < s.period_end
LEFT JOIN meters m ON m.name = u.meter
WHERE s.id = $1
ORDER BY u.meter, u.event_time, u.usage_id
