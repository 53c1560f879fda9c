-- 005: rating. Subscriptions (type 2), FX rates, per-account billing
-- periods computed with PostgreSQL's time zone database, the aggregation
-- snapshots and the rated lines. jobs/RATING.md explains the design; the
-- short version:
--   * history tables (accounts, subscriptions) change only by closing the
--     current row (valid_to) and adding the next one;
--   * billing results (agg_snapshots, agg_values, ratings, rated_lines,
--     fx_rates) are append-only for everyone: a rerun adds rows that
--     supersede older ones (ratings_current, rated_lines_current);
--   * two small work queues (usage_dirty, rate_pending) tell the nightly
--     steps which accounts and periods have something new.

-- ---------------------------------------------------------------------
-- Type 2 history: an UPDATE may only close the open row.
CREATE FUNCTION billrun_only_close_validity() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.valid_to IS NULL AND NEW.valid_to IS NOT NULL
     AND (to_jsonb(NEW) - 'valid_to') = (to_jsonb(OLD) - 'valid_to') THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'table % keeps history: a row may only be closed (valid_to set once)', TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'a change is a new row from its valid_from; the open row is closed at that instant';
END
$$;
CREATE TRIGGER accounts_history BEFORE UPDATE ON accounts
  FOR EACH ROW EXECUTE FUNCTION billrun_only_close_validity();
CREATE TRIGGER accounts_no_delete BEFORE DELETE ON accounts
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- Which plan an account is on, and when. One open row per account; rows of
-- one account never overlap (billrun subscriptions import keeps it so).
CREATE TABLE subscriptions (
  id           bigserial PRIMARY KEY,
  account_ext  text NOT NULL,
  plan         text NOT NULL CHECK (length(plan) BETWEEN 1 AND 63),
  valid_from   timestamptz NOT NULL,
  valid_to     timestamptz,
  created_at   timestamptz NOT NULL DEFAULT now(),
  CHECK (valid_to IS NULL OR valid_to > valid_from),
  UNIQUE (account_ext, valid_from)
);
CREATE UNIQUE INDEX subscriptions_open ON subscriptions (account_ext) WHERE valid_to IS NULL;
CREATE TRIGGER subscriptions_history BEFORE UPDATE ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION billrun_only_close_validity();
CREATE TRIGGER subscriptions_no_delete BEFORE DELETE ON subscriptions
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- Exchange rates: 1 base = rate quote, published for a date. A correction
-- is a new row for the same date (the highest id wins).
CREATE TABLE fx_rates (
  id          bigserial PRIMARY KEY,
  base        char(3) NOT NULL CHECK (base ~ '^[A-Z]{3}$'),
  quote       char(3) NOT NULL CHECK (quote ~ '^[A-Z]{3}$' AND quote <> base),
  as_of       date NOT NULL,
  rate        numeric NOT NULL CHECK (rate > 0),
  source      text NOT NULL DEFAULT '',
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fx_rates_lookup ON fx_rates (base, quote, as_of DESC, id DESC);
CREATE TRIGGER fx_rates_append_only BEFORE UPDATE OR DELETE ON fx_rates
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- ---------------------------------------------------------------------
-- Billing periods. An account's period starts at local midnight of its
-- anchor day (1..28, or 0 = the month's last day) in its time zone and ends
-- at the next one. All calendar arithmetic is PostgreSQL's: dates, and
-- `timestamp AT TIME ZONE zone` for the instants (so DST is right).

-- The anchor date of the month beginning at month_first.
CREATE FUNCTION billing_anchor_date(month_first date, anchor smallint) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN anchor = 0 THEN (month_first + interval '1 month')::date - 1
              ELSE month_first + (anchor - 1) END
$$;

-- The first local day of the period that contains local day d.
CREATE FUNCTION billing_period_local_start(d date, anchor smallint) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN d >= billing_anchor_date(d - (extract(day FROM d)::int - 1), anchor)
              THEN billing_anchor_date(d - (extract(day FROM d)::int - 1), anchor)
              ELSE billing_anchor_date((d - (extract(day FROM d)::int - 1) - interval '1 month')::date, anchor)
         END
$$;

-- The anchor date after the period that starts on (or contains) d.
CREATE FUNCTION billing_period_local_end(d date, anchor smallint) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
  SELECT billing_anchor_date((billing_period_local_start(d, anchor)
                              - (extract(day FROM billing_period_local_start(d, anchor))::int - 1)
                              + interval '1 month')::date, anchor)
$$;

-- The account version that decides the calendar at instant t: the latest
-- version that started at or before t; before the first version, the
-- first one.
CREATE FUNCTION account_version_at(p_account text, p_at timestamptz) RETURNS accounts
LANGUAGE sql STABLE AS $$
  SELECT a.* FROM accounts a
  WHERE a.external_id = p_account
  ORDER BY (a.valid_from <= p_at) DESC,
           CASE WHEN a.valid_from <= p_at THEN a.valid_from END DESC,
           a.valid_from
  LIMIT 1
$$;

-- The billing periods of an account that overlap [p_from, p_to).
--
-- Every version of the account contributes its anchor instants (local
-- midnight of the anchor day in its time zone) while it is in force; a
-- boundary is kept only when its local date is later than the previous
-- boundary's, so a change of time zone or anchor day never yields a period
-- twice or one that runs backwards. The period is named by its first local
-- day (local_start, in the time zone in force when it started). account_id
-- and time_zone are those of the version in force at the period's end:
-- the one whose currency and tax jurisdiction the period is billed with.
--
-- Most accounts never change time zone or anchor day: their periods are
-- computed in one statement (billing_periods_fixed). The others are walked
-- boundary by boundary (billing_periods_walk), starting three months
-- before p_from: a change influences only the boundaries within a period
-- after it, so that gives the same boundaries as walking the whole
-- history.
CREATE FUNCTION billing_periods_fixed(p_account text, p_zone text, p_anchor smallint, p_from timestamptz,
                                      p_to timestamptz)
RETURNS TABLE (local_start date, local_end date, start_at timestamptz, end_at timestamptz,
               account_id bigint, time_zone text, anchor_day smallint)
LANGUAGE sql STABLE AS $$
  SELECT l.s, l.e, l.s_at, l.e_at, v.id, p_zone, p_anchor
  FROM generate_series(((p_from AT TIME ZONE p_zone)::date - 62)::timestamp,
                       ((p_to AT TIME ZONE p_zone)::date + 31)::timestamp, interval '1 month') AS m(month)
  CROSS JOIN LATERAL (SELECT m.month::date - (extract(day FROM m.month)::int - 1) AS first) f
  CROSS JOIN LATERAL (SELECT billing_anchor_date(f.first, p_anchor) AS s,
                             billing_anchor_date((f.first + interval '1 month')::date, p_anchor) AS e) d
  CROSS JOIN LATERAL (SELECT d.s, d.e, d.s::timestamp AT TIME ZONE p_zone AS s_at,
                             d.e::timestamp AT TIME ZONE p_zone AS e_at) l
  -- the version in force at the period's last instant (as account_version_at)
  CROSS JOIN LATERAL (SELECT a.id FROM accounts a
                      WHERE a.external_id = p_account
                      ORDER BY (a.valid_from < l.e_at) DESC,
                               CASE WHEN a.valid_from < l.e_at THEN a.valid_from END DESC, a.valid_from
                      LIMIT 1) v
  WHERE l.s_at < p_to AND l.e_at > p_from
  ORDER BY l.s
$$;

CREATE FUNCTION billing_periods_walk(p_account text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (local_start date, local_end date, start_at timestamptz, end_at timestamptz,
               account_id bigint, time_zone text, anchor_day smallint)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  w    accounts;
  lab  date;           -- label of the current period
  cur  timestamptz;    -- its first instant
  c    timestamptz;    -- boundaries are searched from here
  nxt  timestamptz;    -- the next version's start
  x    date;
  xi   timestamptz;
  fin  accounts;
BEGIN
  c := p_from - interval '3 months';
  w := account_version_at(p_account, c);
  IF w.id IS NULL THEN
    RETURN;
  END IF;
  lab := billing_period_local_start((c AT TIME ZONE w.time_zone)::date, w.anchor_day);
  cur := lab::timestamp AT TIME ZONE w.time_zone;
  WHILE cur < p_to LOOP
    c := cur;
    w := account_version_at(p_account, c);
    LOOP
      SELECT min(a.valid_from) INTO nxt FROM accounts a
      WHERE a.external_id = p_account AND a.valid_from > greatest(w.valid_from, c);
      x := billing_period_local_start((c AT TIME ZONE w.time_zone)::date, w.anchor_day);
      LOOP
        xi := x::timestamp AT TIME ZONE w.time_zone;
        EXIT WHEN xi >= c AND xi > cur AND x > lab;
        x := billing_period_local_end(x, w.anchor_day);
      END LOOP;
      EXIT WHEN nxt IS NULL OR xi <= nxt;
      c := nxt;
      w := account_version_at(p_account, c);
    END LOOP;
    IF xi > p_from THEN
      fin := account_version_at(p_account, xi - interval '1 microsecond');
      local_start := lab;
      local_end := x;
      start_at := cur;
      end_at := xi;
      account_id := fin.id;
      time_zone := fin.time_zone;
      anchor_day := fin.anchor_day;
      RETURN NEXT;
    END IF;
    lab := x;
    cur := xi;
  END LOOP;
END
$$;

-- A plain SQL function, so that the planner inlines it: called LATERAL
-- for thousands of accounts it runs as one set-based statement, without a
-- function call per account.
CREATE FUNCTION billing_periods(p_account text, p_from timestamptz, p_to timestamptz)
RETURNS TABLE (local_start date, local_end date, start_at timestamptz, end_at timestamptz,
               account_id bigint, time_zone text, anchor_day smallint)
LANGUAGE sql STABLE AS $$
  SELECT p.*
  FROM (SELECT count(DISTINCT (a.time_zone, a.anchor_day)) AS calendars, min(a.time_zone) AS zone,
               min(a.anchor_day) AS anchor
        FROM accounts a WHERE a.external_id = p_account) c
  CROSS JOIN LATERAL billing_periods_fixed(p_account, c.zone, c.anchor, p_from, p_to) p
  WHERE c.calendars = 1 AND p_from < p_to
  UNION ALL
  SELECT w.*
  FROM billing_periods_walk(p_account, p_from, p_to) w
  WHERE p_from < p_to
    AND (SELECT count(DISTINCT (a.time_zone, a.anchor_day)) FROM accounts a WHERE a.external_id = p_account) > 1
$$;

-- The one period that contains instant t.
CREATE FUNCTION billing_period_at(p_account text, p_at timestamptz)
RETURNS TABLE (local_start date, local_end date, start_at timestamptz, end_at timestamptz,
               account_id bigint, time_zone text, anchor_day smallint)
LANGUAGE sql STABLE AS $$
  SELECT * FROM billing_periods(p_account, p_at, p_at + interval '1 microsecond')
$$;

-- A point in time written by a person: a date is local midnight in the
-- given zone; anything else must carry its offset ("2026-03-16 12:00+01").
CREATE FUNCTION billrun_local_instant(p_text text, p_zone text) RETURNS timestamptz
LANGUAGE plpgsql STABLE AS $$
BEGIN
  IF p_text ~ '^\d{4}-\d{2}-\d{2}$' THEN
    RETURN p_text::date::timestamp AT TIME ZONE p_zone;
  END IF;
  IF p_text !~ '([+-]\d{2}(:?\d{2})?|Z|UTC)$' THEN
    RAISE EXCEPTION 'time "%" has no UTC offset', p_text
      USING ERRCODE = 'invalid_datetime_format',
            HINT = 'write a date (local midnight in the account''s time zone) or a time with an offset, e.g. 2026-03-16T12:00:00+01:00';
  END IF;
  RETURN p_text::timestamptz;
END
$$;

-- ---------------------------------------------------------------------
-- Importing reference data, one row at a time, inside the caller's
-- transaction. Each returns what it did: 'new', 'changed', 'unchanged'.

CREATE FUNCTION account_import(p_ext text, p_name text, p_zone text, p_anchor smallint, p_currency text,
                               p_tax text, p_cost_centre text, p_email text, p_valid_from text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  cur accounts;
  vf  timestamptz;
BEGIN
  PERFORM now() AT TIME ZONE p_zone;   -- raises for an unknown zone
  vf := CASE WHEN p_valid_from IS NULL THEN now() ELSE billrun_local_instant(p_valid_from, p_zone) END;
  SELECT * INTO cur FROM accounts WHERE external_id = p_ext AND valid_to IS NULL;
  IF FOUND THEN
    IF cur.name = p_name AND cur.time_zone = p_zone AND cur.anchor_day = p_anchor
       AND cur.currency = p_currency AND cur.tax_jurisdiction = p_tax
       AND cur.cost_centre = p_cost_centre AND cur.email = p_email THEN
      RETURN 'unchanged';
    END IF;
    IF vf <= cur.valid_from THEN
      RAISE EXCEPTION 'account "%" changes from % but its current version is valid from %', p_ext, vf, cur.valid_from
        USING ERRCODE = 'data_exception',
              HINT = 'history is only added to: give a valid_from after the current version''s';
    END IF;
    UPDATE accounts SET valid_to = vf WHERE id = cur.id;
    INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, tax_jurisdiction,
                          cost_centre, email)
    VALUES (p_ext, vf, p_name, p_zone, p_anchor, p_currency, p_tax, p_cost_centre, p_email);
    RETURN 'changed';
  END IF;
  IF EXISTS (SELECT 1 FROM accounts WHERE external_id = p_ext AND coalesce(valid_to, valid_from) > vf) THEN
    RAISE EXCEPTION 'account "%" has history after %', p_ext, vf
      USING ERRCODE = 'data_exception';
  END IF;
  INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, tax_jurisdiction,
                        cost_centre, email)
  VALUES (p_ext, vf, p_name, p_zone, p_anchor, p_currency, p_tax, p_cost_centre, p_email);
  RETURN 'new';
END
$$;

-- p_plan '' ends the subscription at p_from without a successor.
CREATE FUNCTION subscription_import(p_ext text, p_plan text, p_from text, p_to text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  acc  accounts;
  cur  subscriptions;
  vf   timestamptz;
  vt   timestamptz;
BEGIN
  SELECT * INTO acc FROM accounts WHERE external_id = p_ext ORDER BY valid_to IS NULL DESC, valid_from DESC LIMIT 1;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'account "%" is not known', p_ext
      USING ERRCODE = 'foreign_key_violation', HINT = 'import it first with ''billrun accounts import''';
  END IF;
  vf := billrun_local_instant(p_from, acc.time_zone);
  vt := CASE WHEN p_to IS NULL THEN NULL ELSE billrun_local_instant(p_to, acc.time_zone) END;
  IF vt IS NOT NULL AND vt <= vf THEN
    RAISE EXCEPTION 'subscription of "%" ends (%) before it starts (%)', p_ext, vt, vf USING ERRCODE = 'data_exception';
  END IF;
  -- Re-importing the same file changes nothing.
  IF p_plan <> '' AND EXISTS (SELECT 1 FROM subscriptions WHERE account_ext = p_ext AND valid_from = vf
                              AND plan = p_plan AND (vt IS NULL OR valid_to = vt)) THEN
    RETURN 'unchanged';
  END IF;
  SELECT * INTO cur FROM subscriptions WHERE account_ext = p_ext AND valid_to IS NULL;
  IF FOUND AND cur.plan = p_plan AND cur.valid_from <= vf AND vt IS NULL THEN
    RETURN 'unchanged';
  END IF;
  IF p_plan = '' AND (NOT FOUND OR cur.valid_from >= vf) THEN
    IF EXISTS (SELECT 1 FROM subscriptions WHERE account_ext = p_ext AND valid_to = vf) THEN
      RETURN 'unchanged';
    END IF;
    RAISE EXCEPTION 'account "%" has no open subscription to end at %', p_ext, vf USING ERRCODE = 'data_exception';
  END IF;
  IF EXISTS (SELECT 1 FROM subscriptions WHERE account_ext = p_ext
             AND (valid_from >= vf OR (valid_to IS NOT NULL AND valid_to > vf))) THEN
    RAISE EXCEPTION 'subscription of "%" from % overlaps its existing history', p_ext, vf
      USING ERRCODE = 'data_exception',
            HINT = 'history is only added to: a change starts after the latest subscription''s start';
  END IF;
  IF FOUND THEN
    UPDATE subscriptions SET valid_to = vf WHERE id = cur.id;
  END IF;
  IF p_plan = '' THEN
    RETURN 'changed';
  END IF;
  INSERT INTO subscriptions (account_ext, plan, valid_from, valid_to) VALUES (p_ext, p_plan, vf, vt);
  RETURN CASE WHEN cur.id IS NULL THEN 'new' ELSE 'changed' END;
END
$$;

-- ---------------------------------------------------------------------
-- Work queue 1: which accounts have new usage, and when it happened. A
-- statement trigger on usage adds one row per account per INSERT or COPY
-- statement, in the same transaction as the usage itself, so no record is
-- missed whatever order concurrent loads commit in. The aggregate step
-- removes what it has aggregated, in the transaction that stores the
-- result.
CREATE TABLE usage_dirty (
  id           bigserial PRIMARY KEY,
  account_ext  text NOT NULL,
  first_event  timestamptz NOT NULL,
  last_event   timestamptz NOT NULL,
  records      bigint NOT NULL
);
CREATE INDEX usage_dirty_account ON usage_dirty (account_ext);

CREATE FUNCTION usage_mark_dirty() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_dirty (account_ext, first_event, last_event, records)
  SELECT account_ext, min(event_time), max(event_time), count(*)
  FROM new_usage GROUP BY account_ext;
  RETURN NULL;
END
$$;

-- The usage table belongs to ingest (004). Should this migration ever run
-- before it, the aggregate step refuses to start (it checks for the
-- trigger) rather than miss usage.
DO $$
BEGIN
  IF to_regclass('usage') IS NOT NULL THEN
    CREATE TRIGGER usage_dirty AFTER INSERT ON usage REFERENCING NEW TABLE AS new_usage
      FOR EACH STATEMENT EXECUTE FUNCTION usage_mark_dirty();
    GRANT SELECT ON usage TO billrun_app, billrun_auditor;
  END IF;
END
$$;

-- ---------------------------------------------------------------------
-- Aggregation: one snapshot per (account, billing period) each time the
-- period is recomputed (all of its usage, every meter). The latest
-- snapshot of a period is the current one.
CREATE TABLE agg_snapshots (
  id                  bigserial PRIMARY KEY,
  run_id              bigint NOT NULL REFERENCES runs(id),
  account_ext         text NOT NULL,
  account_id          bigint NOT NULL REFERENCES accounts(id),
  period_local_start  date NOT NULL,
  period_local_end    date NOT NULL,
  period_start        timestamptz NOT NULL,
  period_end          timestamptz NOT NULL,
  time_zone           text NOT NULL,
  anchor_day          smallint NOT NULL,
  closed              boolean NOT NULL,   -- the period has ended by the run's period end
  reason              text NOT NULL CHECK (reason IN ('usage', 'close', 'rerun', 'account')),
  usage_records       bigint NOT NULL,    -- every usage record of the account in the period
  usage_not_billable  bigint NOT NULL DEFAULT 0,  -- of those, counted but never billed (usage.billable)
  usage_max_id        bigint,
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (period_end > period_start)
);
CREATE INDEX agg_snapshots_period ON agg_snapshots (account_ext, period_local_start, id);
CREATE INDEX agg_snapshots_run ON agg_snapshots (run_id);

CREATE TABLE agg_values (
  snapshot_id       bigint NOT NULL REFERENCES agg_snapshots(id),
  meter             text NOT NULL,
  aggregation       text NOT NULL,
  round_increment   numeric,
  value             numeric NOT NULL,     -- what is rated
  records           bigint NOT NULL,
  quantity_raw      numeric NOT NULL,     -- sum of the quantities as ingested
  quantity_rounded  numeric NOT NULL,     -- sum after per-record rounding
  PRIMARY KEY (snapshot_id, meter)
);

-- Work queue 2: snapshots waiting to be rated.
CREATE TABLE rate_pending (
  snapshot_id  bigint PRIMARY KEY REFERENCES agg_snapshots(id)
);

-- ---------------------------------------------------------------------
-- Rating: one rating per snapshot rated (a header), its lines below it.
-- The current rating of an (account, period) is the one of its newest
-- snapshot, and of those the newest rating: a rerun supersedes, never
-- overwrites.
CREATE TABLE ratings (
  id                  bigserial PRIMARY KEY,
  run_id              bigint NOT NULL REFERENCES runs(id),
  rule_version        bigint REFERENCES rule_versions(id),
  snapshot_id         bigint NOT NULL REFERENCES agg_snapshots(id),
  account_ext         text NOT NULL,
  account_id          bigint NOT NULL REFERENCES accounts(id),
  period_local_start  date NOT NULL,
  period_local_end    date NOT NULL,
  closed              boolean NOT NULL,
  currency            char(3) NOT NULL,
  rounding            text NOT NULL,
  status              text NOT NULL CHECK (status IN ('rated', 'held')),
  hold_reason         text CHECK (hold_reason IN ('no_plan', 'unknown_plan', 'no_plan_version', 'no_tax_rate',
                                                  'no_fx_rate', 'unknown_currency', 'out_of_range')),
  hold_detail         text,
  subtotal            numeric NOT NULL DEFAULT 0,
  tax_total           numeric NOT NULL DEFAULT 0,
  total               numeric NOT NULL DEFAULT 0,
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((status = 'held') = (hold_reason IS NOT NULL))
);
CREATE INDEX ratings_period ON ratings (account_ext, period_local_start, snapshot_id, id);
CREATE INDEX ratings_run ON ratings (run_id);
CREATE INDEX ratings_snapshot ON ratings (snapshot_id);
CREATE INDEX ratings_held ON ratings (account_ext, period_local_start) WHERE status = 'held';

CREATE TABLE rated_lines (
  id                     bigserial PRIMARY KEY,
  -- run_id and rule_version repeat the rating's, where foreign keys check
  -- them: not checked again for each line
  rating_id              bigint NOT NULL REFERENCES ratings(id),
  run_id                 bigint NOT NULL,
  rule_version           bigint,
  line_no                integer NOT NULL,
  kind                   text NOT NULL CHECK (kind IN ('usage', 'recurring', 'minimum', 'tax')),
  account_ext            text NOT NULL,
  period_local_start     date NOT NULL,
  plan                   text,
  plan_effective_from    date,
  charge                 text,
  meter                  text,
  model                  text,
  tax_group              text,
  quantity               numeric,           -- usage: as aggregated
  billable_quantity      numeric,           -- usage: after free units
  proration_part         numeric,           -- seconds covered
  proration_whole        numeric,           -- seconds in the period
  price_currency         char(3),
  amount_price_currency  numeric,           -- exact (to 20 places), before FX
  fx_rate                numeric,
  fx_inverse             boolean,           -- the rate was quoted the other way and divided by
  fx_as_of               date,
  fx_rate_id             bigint REFERENCES fx_rates(id),
  currency               char(3) NOT NULL,  -- the account's
  amount_unrounded       numeric NOT NULL,
  amount                 numeric NOT NULL,  -- rounded once to the currency's minor unit
  tax_rate               numeric,
  tax_base               numeric,
  tax_jurisdiction       text,
  detail                 jsonb NOT NULL DEFAULT '{}',
  UNIQUE (rating_id, line_no)
);
CREATE INDEX rated_lines_run ON rated_lines (run_id);

CREATE VIEW ratings_current AS
  SELECT DISTINCT ON (account_ext, period_local_start) *
  FROM ratings
  ORDER BY account_ext, period_local_start, snapshot_id DESC, id DESC;

CREATE VIEW rated_lines_current AS
  SELECT l.* FROM rated_lines l JOIN ratings_current r ON r.id = l.rating_id;

CREATE TRIGGER agg_snapshots_append_only BEFORE UPDATE OR DELETE ON agg_snapshots
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER agg_values_append_only BEFORE UPDATE OR DELETE ON agg_values
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER ratings_append_only BEFORE UPDATE OR DELETE ON ratings
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER rated_lines_append_only BEFORE UPDATE OR DELETE ON rated_lines
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- ---------------------------------------------------------------------
GRANT SELECT, INSERT ON subscriptions, fx_rates, agg_snapshots, agg_values, ratings, rated_lines TO billrun_app;
GRANT UPDATE (valid_to) ON subscriptions TO billrun_app;
GRANT SELECT, INSERT, DELETE ON usage_dirty, rate_pending TO billrun_app;
GRANT SELECT ON ratings_current, rated_lines_current TO billrun_app;
GRANT USAGE ON SEQUENCE subscriptions_id_seq, fx_rates_id_seq, agg_snapshots_id_seq, ratings_id_seq,
  rated_lines_id_seq, usage_dirty_id_seq TO billrun_app;
GRANT SELECT ON subscriptions, fx_rates, agg_snapshots, agg_values, ratings, rated_lines, ratings_current,
  rated_lines_current, usage_dirty, rate_pending TO billrun_auditor;
