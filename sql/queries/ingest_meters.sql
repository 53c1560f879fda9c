-- Meters (jobs/meters.c): the rate card's `meters` list kept in table
-- meters, and read back for validation.

-- name: ingest_meter_upsert
-- $1 name, $2 aggregation, $3 unique_attribute, $4 round_increment,
-- $5 allow_credit, $6 unit, $7 charge_categories (a text[] literal, 017).
INSERT INTO meters (name, aggregation, unique_attribute, round_increment, allow_credit, unit, charge_categories)
VALUES ($1, $2, $3, $4::numeric, $5::boolean, $6, $7::text[])
ON CONFLICT (name) DO UPDATE
SET aggregation = EXCLUDED.aggregation, unique_attribute = EXCLUDED.unique_attribute,
    round_increment = EXCLUDED.round_increment, allow_credit = EXCLUDED.allow_credit,
    unit = EXCLUDED.unit, charge_categories = EXCLUDED.charge_categories
WHERE (meters.aggregation, meters.unique_attribute, meters.round_increment, meters.allow_credit, meters.unit,
       meters.charge_categories)
      IS DISTINCT FROM
      (EXCLUDED.aggregation, EXCLUDED.unique_attribute, EXCLUDED.round_increment, EXCLUDED.allow_credit,
       EXCLUDED.unit, EXCLUDED.charge_categories)

-- name: ingest_meter_prune
-- Meters no longer in the rate card; $1 is a text array of the names kept.
DELETE FROM meters WHERE name <> ALL ($1::text[])

-- name: ingest_meter_load
SELECT name, allow_credit FROM meters
