-- 023: usage partial sums, so that the nightly path reads each record once.
--
-- While ingest streams a file it adds up, per account, meter, charge
-- category and billing period, what the aggregate and reconcile steps
-- need, and stores those partial sums in the file's own transaction
-- (jobs/README.md, "Partial sums"). The aggregate step then adds up
-- partials instead of re-reading usage, and the reconcile step compares
-- them instead of re-scanning it. usage stays the record of every event:
-- `invoice trace`, disputes and the fall-backs below read it.
--
-- A partial is only a cache of a sum over usage rows, with everything
-- needed to know whether it still applies:
--   * first_event .. last_event: the event times of its records. A
--     partial counts towards a billing period only when both lie inside
--     it; one that straddles a period's boundary (an account whose time
--     zone or anchor day changed after the ingest, or whose periods were
--     not known then) makes that period be recomputed from usage.
--   * round_increment: the meter's when the partial was made;
--     quantity_rounded is the billable records' quantities, each rounded
--     up to it (billrun_round_up, 016). When the rate card's increment
--     has changed since, the period is recomputed from usage.
--   * category: billrun_charge_category (017) of its records, so that a
--     meter's charge_categories decide at aggregation, not at ingest.
-- billrun_file_partials() below computes a file's partials from its usage
-- rows by that definition; tests/integration/test_partials.c keeps it and
-- the loader's (jobs/partials.c) equal on the same data.
CREATE TABLE usage_partials (
  file_id           bigint NOT NULL,       -- ingest_files(id), same transaction
  run_id            bigint NOT NULL,       -- runs(id): the run whose ingest loaded the file
  account_ext       text NOT NULL,
  meter             text NOT NULL,
  category          text NOT NULL,         -- billrun_charge_category: Usage, Purchase, Tax, Credit, Adjustment
  period_start      timestamptz,           -- the billing period the loader put them in; NULL: none known
  first_event       timestamptz NOT NULL,
  last_event        timestamptz NOT NULL,
  records           bigint NOT NULL CHECK (records > 0),  -- every accepted record, billable or not
  billable          bigint NOT NULL CHECK (billable >= 0 AND billable <= records),
  max_usage_id      bigint NOT NULL,
  round_increment   numeric,               -- the meter's at ingest; NULL: no rounding
  quantity          numeric NOT NULL,      -- the billable records' quantities as ingested
  quantity_rounded  numeric NOT NULL,      -- the same, each rounded up to round_increment
  rounded_max       numeric,               -- the largest of those (NULL: no billable record)
  latest_time       timestamptz,           -- the billable record latest by (event_time, usage_id) ...
  latest_usage_id   bigint,
  latest_rounded    numeric,               -- ... and its rounded quantity (meters that aggregate 'latest')
  cost              numeric,               -- the billable records' cost (FOCUS BilledCost); NULL: none had one
  cost_records      bigint NOT NULL DEFAULT 0,  -- billable records with a cost
  currency_min      text,                  -- the billable records' BillingCurrency, least and greatest
  currency_max      text,
  CHECK (last_event >= first_event)
);
CREATE INDEX usage_partials_account ON usage_partials (account_ext, first_event);
CREATE INDEX usage_partials_file ON usage_partials (file_id);
CREATE TRIGGER usage_partials_append_only BEFORE UPDATE OR DELETE ON usage_partials
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER usage_partials_no_truncate BEFORE TRUNCATE ON usage_partials
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();

-- A file's partials, computed from its usage rows: the definition the
-- loader follows, the path ingest takes when the loader cannot (a file
-- with duplicate keys, a sum too large for the loader's decimals), and
-- the backfill of files ingested before this migration. Records are put in
-- the billing period of their account that holds them (billing_periods);
-- those of accounts without periods (not known) share one partial, with
-- period_start NULL. p_after_id: only the rows after that usage id
-- (billrun_partials_catch_up, 024).
CREATE FUNCTION billrun_file_partials(p_file bigint, p_after_id bigint DEFAULT 0) RETURNS SETOF usage_partials
LANGUAGE sql STABLE AS $$
  WITH spans AS (
    SELECT account_ext, min(event_time) AS first_event, max(event_time) AS last_event
    FROM usage WHERE file_id = p_file AND usage_id > p_after_id GROUP BY account_ext
  ), periods AS (
    SELECT s.account_ext, p.start_at, p.end_at
    FROM spans s
    CROSS JOIN LATERAL billing_periods(s.account_ext, s.first_event, s.last_event + interval '1 microsecond') p
  ), rows AS (
    SELECT u.*, billrun_charge_category(u.cost, u.attributes) AS category, p.start_at AS period_start,
           m.round_increment AS inc, billrun_round_up(u.quantity, m.round_increment) AS q
    FROM usage u
    LEFT JOIN periods p ON p.account_ext = u.account_ext AND u.event_time >= p.start_at AND u.event_time < p.end_at
    LEFT JOIN meters m ON m.name = u.meter
    WHERE u.file_id = p_file AND u.usage_id > p_after_id
  )
  SELECT p_file, min(run_id), account_ext, meter, category, period_start, min(event_time), max(event_time),
         count(*), count(*) FILTER (WHERE billable), max(usage_id), min(inc),
         coalesce(sum(quantity) FILTER (WHERE billable), 0), coalesce(sum(q) FILTER (WHERE billable), 0),
         max(q) FILTER (WHERE billable),
         (array_agg(event_time ORDER BY event_time DESC, usage_id DESC) FILTER (WHERE billable))[1],
         (array_agg(usage_id ORDER BY event_time DESC, usage_id DESC) FILTER (WHERE billable))[1],
         (array_agg(q ORDER BY event_time DESC, usage_id DESC) FILTER (WHERE billable))[1],
         sum(cost) FILTER (WHERE billable), count(cost) FILTER (WHERE billable),
         min(currency) FILTER (WHERE billable), max(currency) FILTER (WHERE billable)
  FROM rows
  GROUP BY account_ext, meter, category, period_start
$$;

-- The files ingested before this migration.
INSERT INTO usage_partials
SELECT p.* FROM ingest_files f CROSS JOIN LATERAL billrun_file_partials(f.id) p ORDER BY f.id;

GRANT SELECT, INSERT ON usage_partials TO billrun_app;
GRANT SELECT ON usage_partials TO billrun_auditor;
