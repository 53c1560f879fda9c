-- 003: accounts (type 2 history) and meters: the reference data that
-- ingest validates against and rating prices.

-- One row per version of an account. The customer's id is external_id;
-- inside, rows are joined on the surrogate key id. The current version has
-- valid_to NULL; a change closes it and inserts the next version.
CREATE TABLE accounts (
  id                bigserial PRIMARY KEY,
  external_id       text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 200),
  valid_from        timestamptz NOT NULL,
  valid_to          timestamptz,
  name              text NOT NULL DEFAULT '',
  time_zone         text NOT NULL,
  anchor_day        smallint NOT NULL CHECK (anchor_day BETWEEN 0 AND 28), -- 0 = last day of month
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  tax_jurisdiction  text NOT NULL DEFAULT '',
  cost_centre       text NOT NULL DEFAULT '',
  email             text NOT NULL DEFAULT '',  -- personal data: masked on export
  CHECK (valid_to IS NULL OR valid_to > valid_from),
  UNIQUE (external_id, valid_from)
);
CREATE UNIQUE INDEX accounts_current ON accounts (external_id) WHERE valid_to IS NULL;

-- Meters, as declared in the rate-card file of the rule version in force
-- (synchronised at run start). Ingest accepts only known meters.
CREATE TABLE meters (
  name              text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_.-]*$'),
  aggregation       text NOT NULL CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest')),
  unique_attribute  text,           -- for unique_count
  round_increment   numeric,        -- per-record rounding up to a multiple, e.g. 60
  allow_credit      boolean NOT NULL DEFAULT false,  -- negative quantities allowed
  unit              text NOT NULL DEFAULT ''
);

GRANT SELECT ON accounts, meters TO billrun_app, billrun_auditor;
GRANT INSERT, UPDATE ON accounts TO billrun_app;   -- UPDATE only closes valid_to
GRANT INSERT, UPDATE, DELETE ON meters TO billrun_app;
GRANT USAGE ON SEQUENCE accounts_id_seq TO billrun_app;
