-- Reference data imports (cmd/cmd_accounts.c): accounts, subscriptions and
-- FX rates, one row per statement inside the command's one transaction.

-- name: rate_zone_known
SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)

-- name: rate_account_import
-- $1 external id, $2 name, $3 time zone, $4 anchor day (0 = last),
-- $5 currency, $6 tax jurisdiction, $7 cost centre, $8 email, $9..$16 the
-- parties' columns (045: address lines, city, postcode, country, VAT id,
-- endpoint, b2b), $17 valid from (NULL = now). Returns new, changed or
-- unchanged (see 005_rating.sql).
SELECT account_import($1, $2, $3, $4::smallint, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16::boolean, $17)

-- name: rate_subscription_import
-- $1 account, $2 plan ('' = end the subscription), $3 from, $4 to (NULL).
SELECT subscription_import($1, $2, $3, $4)

-- name: rate_fx_import
-- $1 date, $2 base, $3 quote, $4 rate, $5 source. A row already stored
-- (same date, pair and rate) is skipped, so importing an older file again
-- never undoes a later correction. Returns the rows added (0 or 1).
WITH ins AS (
  INSERT INTO fx_rates (as_of, base, quote, rate, source)
  SELECT $1::date, $2, $3, $4::numeric, $5
  WHERE NOT EXISTS (SELECT 1 FROM fx_rates
                    WHERE base = $2 AND quote = $3 AND as_of = $1::date AND rate = $4::numeric)
  RETURNING id
)
SELECT count(*) FROM ins

-- name: rate_account_versions
SELECT id, to_char(valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       name, time_zone, anchor_day, currency, tax_jurisdiction, cost_centre,
       concat_ws(', ', nullif(address_line1, ''), nullif(address_line2, ''),
                 nullif(btrim(postcode || ' ' || city), ''), nullif(country, '')),
       vat_id, endpoint, b2b
FROM accounts WHERE external_id = $1 ORDER BY valid_from

-- name: rate_account_subscriptions
SELECT plan, to_char(valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(valid_to AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')
FROM subscriptions WHERE account_ext = $1 ORDER BY valid_from

-- name: rate_account_periods
-- The billing periods of account $1 overlapping local dates $2 .. $3.
SELECT local_start::text, local_end::text,
       to_char(start_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       to_char(end_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       time_zone, anchor_day, (extract(epoch FROM end_at) - extract(epoch FROM start_at))::bigint / 3600
FROM billing_periods($1, ($2::date - 2)::timestamp AT TIME ZONE 'UTC', ($3::date + 2)::timestamp AT TIME ZONE 'UTC')
WHERE local_start < $3::date AND local_end > $2::date
