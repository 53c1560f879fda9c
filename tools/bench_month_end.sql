-- bench_month_end.sql - the data of tools/bench_month_end.sh, made with
-- set-based SQL (no files, no rating): :n accounts on a plan, each with
-- usage records and a closed, rated billing period for March 2026 as the
-- rate step would have left it (a snapshot, a rating, five rated lines:
-- a recurring fee, two usage charges, a minimum commitment true-up and
-- VAT). Amounts vary by account; every total is exact and consistent
-- (subtotal = sum of the charges, tax = 19 % rounded half up, total =
-- subtotal + tax). Run as the owner with psql -v n=100000.
\set ON_ERROR_STOP on
SET synchronous_commit = off;

BEGIN;
INSERT INTO rule_versions (sha256, file_name, content)
VALUES (encode(sha256('billrun bench rate card'::bytea), 'hex'), 'bench.conf', '# bench rate card');
INSERT INTO runs (dag, period_kind, period_start, period_end, status, host, pid, rule_version, ended_at)
VALUES ('bench_rating', 'month', '2026-03-01', '2026-04-01', 'success', 'bench', 0,
        (SELECT max(id) FROM rule_versions), now());
CREATE TEMPORARY TABLE bench AS SELECT (SELECT max(id) FROM runs) AS run, (SELECT max(id) FROM rule_versions) AS rule;

INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, tax_jurisdiction, cost_centre,
                      email)
SELECT 'acct' || lpad(g::text, 6, '0'), '2025-01-01', 'Customer ' || g || ' Ltd', 'Europe/Berlin', 1, 'EUR', 'DE',
       'CC-' || lpad((g % 50)::text, 2, '0'), 'billing' || g || '@example.com'
FROM generate_series(1, :n) g;

INSERT INTO subscriptions (account_ext, plan, valid_from)
SELECT external_id, 'pro', '2026-01-01' FROM accounts;

-- Usage: three records per account (voice calls, a storage reading), from
-- one ingested file.
INSERT INTO ingest_files (run_id, source, format, file_name, sha256, size_bytes, records_read, accepted, quarantined,
                          duplicates, started_at)
SELECT run, 'bench', 'usage-csv', 'usage-2026-03.csv', encode(sha256('bench usage'::bytea), 'hex'), 0,
       3 * :n, 3 * :n, 0, 0, now()
FROM bench;
INSERT INTO usage (source, event_key, file_id, line_no, account_ext, meter, event_time, quantity, run_id)
SELECT 'bench', g || '-' || k, (SELECT max(id) FROM ingest_files), 3 * (g - 1) + k + 1,
       'acct' || lpad(g::text, 6, '0'),
       CASE WHEN k < 2 THEN 'voice_seconds' ELSE 'storage_gb' END,
       '2026-03-01 08:00+01'::timestamptz + (g % 27) * interval '1 day' + k * interval '1 hour',
       CASE WHEN k < 2 THEN (g * 7919 + k * 104729) % 50000 ELSE (g % 500) + 0.5 END,
       (SELECT run FROM bench)
FROM generate_series(1, :n) g, generate_series(0, 2) k;
-- its partial sums, as ingest writes them with a file (023, 024)
SELECT billrun_partials_catch_up();

INSERT INTO agg_snapshots (run_id, account_ext, account_id, period_local_start, period_local_end, period_start,
                           period_end, time_zone, anchor_day, closed, reason, usage_records, usage_max_id)
SELECT b.run, a.external_id, a.id, '2026-03-01', '2026-04-01', '2026-03-01 00:00+01', '2026-04-01 00:00+02',
       'Europe/Berlin', 1, true, 'close', 3, (SELECT max(usage_id) FROM usage)
FROM accounts a, bench b;

-- The amounts of each account: voice 0.00015 per second, storage 0.08 per
-- GB at its peak, a 100.00 minimum on the usage charges, VAT 19 %.
CREATE TEMPORARY TABLE amounts AS
WITH v AS (
  SELECT u.account_ext, sum(u.quantity) FILTER (WHERE u.meter = 'voice_seconds') AS voice,
         max(u.quantity) FILTER (WHERE u.meter = 'storage_gb') AS storage
  FROM usage u GROUP BY u.account_ext
)
SELECT s.id AS snapshot_id, s.account_ext, s.account_id, v.voice, v.storage,
       round(v.voice * 0.00015, 2) AS voice_amount, round(v.storage * 0.08, 2) AS storage_amount
FROM agg_snapshots s JOIN v ON v.account_ext = s.account_ext;
ALTER TABLE amounts ADD COLUMN minimum numeric, ADD COLUMN subtotal numeric, ADD COLUMN tax numeric,
  ADD COLUMN rating_id bigint;
UPDATE amounts SET minimum = greatest(100.00 - voice_amount - storage_amount, 0.00);
UPDATE amounts SET subtotal = 49.00 + voice_amount + storage_amount + minimum,
                   rating_id = nextval('ratings_id_seq');
UPDATE amounts SET tax = round(subtotal * 0.19, 2);

INSERT INTO ratings (id, run_id, rule_version, snapshot_id, account_ext, account_id, period_local_start,
                     period_local_end, closed, currency, rounding, status, subtotal, tax_total, total)
SELECT m.rating_id, b.run, b.rule, m.snapshot_id, m.account_ext, m.account_id, '2026-03-01', '2026-04-01', true,
       'EUR', 'half_up', 'rated', m.subtotal, m.tax, m.subtotal + m.tax
FROM amounts m, bench b;

INSERT INTO rated_lines (rating_id, run_id, rule_version, line_no, kind, account_ext, period_local_start, plan,
                         plan_effective_from, charge, meter, model, tax_group, quantity, billable_quantity,
                         proration_part, proration_whole, price_currency, amount_price_currency, currency,
                         amount_unrounded, amount, tax_rate, tax_base, tax_jurisdiction)
SELECT m.rating_id, b.run, b.rule, l.no, l.kind, m.account_ext, '2026-03-01', 'pro', '2024-01-01', l.charge, l.meter,
       l.model, 'standard', l.quantity, l.quantity,
       CASE WHEN l.kind = 'recurring' THEN 2674800 END, CASE WHEN l.kind = 'recurring' THEN 2674800 END,
       CASE WHEN l.kind <> 'tax' THEN 'EUR' END, CASE WHEN l.kind <> 'tax' THEN l.amount END, 'EUR', l.amount,
       l.amount, CASE WHEN l.kind = 'tax' THEN 0.19 END, CASE WHEN l.kind = 'tax' THEN m.subtotal END,
       CASE WHEN l.kind = 'tax' THEN 'DE' END
FROM amounts m
CROSS JOIN bench b
CROSS JOIN LATERAL (VALUES
  (1, 'recurring', 'base_fee', NULL, 'recurring', NULL::numeric, 49.00),
  (2, 'usage', NULL, 'voice_seconds', 'graduated', m.voice, m.voice_amount),
  (3, 'usage', NULL, 'storage_gb', 'volume', m.storage, m.storage_amount),
  (4, 'minimum', 'commitment', NULL, 'minimum', NULL, m.minimum),
  (5, 'tax', NULL, NULL, NULL, NULL, m.tax)
) AS l(no, kind, charge, meter, model, quantity, amount);
COMMIT;

ANALYZE;
SELECT count(*) AS accounts, (SELECT count(*) FROM ratings) AS ratings, (SELECT count(*) FROM rated_lines) AS lines,
       (SELECT count(*) FROM usage) AS usage_records, (SELECT sum(total) FROM ratings) AS billed_total
FROM accounts;
