-- 017: which usage records a meter counts, defined once for the aggregate
-- step, the reconcile step's recount, `billrun explain --records`,
-- `billrun invoice trace` and the fault tests' recomputation
-- (jobs/RATING.md, Aggregation). Plain SQL expressions, IMMUTABLE and not
-- STRICT: PostgreSQL inlines them into the calling query, as 016's
-- billrun_round_up.

-- A unique_count meter counts the distinct values of a record's attribute;
-- a record whose value is absent, JSON null, empty or only blanks (space,
-- tab, line feed, carriage return, vertical tab, form feed) is a record
-- without it and does not count. Other values are compared as they are
-- (" a" and "a" are two values).
CREATE FUNCTION billrun_unique_value(p_attributes jsonb, p_attribute text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN btrim(p_attributes ->> p_attribute, E' \t\n\r\u000b\f') = '' THEN NULL
              ELSE p_attributes ->> p_attribute END
$$;

-- A record's charge category: FOCUS ChargeCategory (Usage, Purchase, Tax,
-- Credit, Adjustment; any letter case, as the FOCUS reader takes it) for
-- FOCUS rows, the only rows with a cost (BilledCost); every other record
-- (usage-csv, Asterisk), and a FOCUS row without a category, is Usage.
CREATE FUNCTION billrun_charge_category(p_cost numeric, p_attributes jsonb) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_cost IS NULL THEN 'Usage'
              ELSE coalesce(initcap(p_attributes ->> 'ChargeCategory'), 'Usage') END
$$;

-- The charge categories whose records a meter counts (the rate card's
-- `charge_categories`, default Usage only). The others are still accepted
-- usage, with their cost in the chargeback; they enter no value, record
-- count or quantity of the meter.
ALTER TABLE meters ADD COLUMN charge_categories text[] NOT NULL DEFAULT '{Usage}'
  CHECK (cardinality(charge_categories) > 0
         AND charge_categories <@ ARRAY['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment']);

-- Does a meter with these categories count the record? A meter that is not
-- known (NULL) is taken as counting Usage.
CREATE FUNCTION billrun_meter_counts(p_categories text[], p_cost numeric, p_attributes jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT billrun_charge_category(p_cost, p_attributes) = ANY (coalesce(p_categories, '{Usage}'))
$$;
