-- 011: reconciliation and the quarantine zone's bookkeeping. jobs/RECONCILE.md
-- explains the checks; in short:
--   * reconciliation_checks: one row per comparison the reconcile step made
--     (expected, actual, difference, the tolerance it was held to, verdict),
--     append-only for everyone;
--   * reconcile_runs: one row per run whose reconcile step committed, with
--     its counts; reconcile_run_totals: what each of those runs accepted per
--     account and meter, the history the drift check compares tonight with;
--   * holds themselves are account_holds / hold_releases (009); the reasons
--     they are written with are listed in hold_reasons.

-- The reasons billrun writes holds with (account_holds.reason has no
-- foreign key: sites may add their own; the list and report print these
-- descriptions when they know the code).
CREATE TABLE hold_reasons (
  code         text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
  origin       text NOT NULL CHECK (origin IN ('reconcile', 'quarantine', 'rating')),
  description  text NOT NULL
);
INSERT INTO hold_reasons (code, origin, description) VALUES
  ('control_file', 'reconcile', 'a control file beside an input file could not be read'),
  ('control_sha256', 'reconcile', 'the SHA-256 a control file states is not the data file''s'),
  ('control_records', 'reconcile', 'the record count a control file states differs from the records read'),
  ('control_quantity', 'reconcile', 'a meter''s quantity total in a control file differs from what was read, beyond the tolerance'),
  ('control_cost', 'reconcile', 'the cost total in a control file differs from the BilledCost read, beyond the tolerance'),
  ('conservation', 'reconcile', 'records read <> usage rows + quarantined rows + duplicates for an input file'),
  ('aggregate_records', 'reconcile', 'the usage records of an account period differ from the count its aggregate snapshot holds'),
  ('aggregate_quantity', 'reconcile', 'the accepted quantity of a meter differs from the aggregated quantity, beyond the tolerance'),
  ('rate_quantity', 'reconcile', 'the aggregated value of a meter differs from the quantity on its rated lines, or was not rated'),
  ('focus_cost', 'reconcile', 'the sum of FOCUS BilledCost differs from the chargeback total, beyond the tolerance'),
  ('drift', 'reconcile', 'tonight''s quantity of a meter lies outside the band around its recent history (reconcile.drift_hold)'),
  ('bad_record', 'quarantine', 'records of the account were quarantined by ingest (see quarantine_records)'),
  ('no_price', 'quarantine', 'a meter was used but the account''s plan has no usage charge for it'),
  ('no_plan', 'rating', 'usage and no subscription in the period'),
  ('unknown_plan', 'rating', 'the subscription names a plan that is not in the rate card'),
  ('no_plan_version', 'rating', 'the plan has no version in force in the period'),
  ('no_tax_rate', 'rating', 'no tax rate for the account''s jurisdiction and a charge''s tax group'),
  ('no_fx_rate', 'rating', 'no exchange rate from a plan''s currency to the account''s'),
  ('unknown_currency', 'rating', 'the account''s currency is not known'),
  ('out_of_range', 'rating', 'an amount did not fit the exact decimal range');

-- One row per comparison. Scope columns say what was compared: a file
-- (file_id), an account period (account_ext, period_local_start), a meter.
-- difference = actual - expected; a check passes when |difference| <=
-- tolerance (0 for counts). NULL expected or actual: not comparable (the
-- verdict and detail say why).
CREATE TABLE reconciliation_checks (
  id                  bigserial PRIMARY KEY,
  run_id              bigint NOT NULL REFERENCES runs(id),
  check_name          text NOT NULL CHECK (check_name IN ('control_file', 'control_sha256', 'control_records',
                                                          'control_quantity', 'control_cost', 'conservation',
                                                          'aggregate_records', 'aggregate_quantity', 'rate_quantity',
                                                          'focus_cost', 'drift')),
  measure             text NOT NULL CHECK (measure IN ('count', 'quantity', 'amount', 'text')),
  file_id             bigint,          -- ingest_files(id)
  account_ext         text,
  period_local_start  date,
  meter               text,
  currency            text,
  expected            numeric,
  actual              numeric,
  difference          numeric,
  tolerance           numeric,
  verdict             text NOT NULL CHECK (verdict IN ('pass', 'fail', 'warn', 'skip')),
  detail              text NOT NULL DEFAULT '',
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK (difference IS NULL OR difference = actual - expected)
);
CREATE INDEX reconciliation_checks_run ON reconciliation_checks (run_id, verdict);
CREATE INDEX reconciliation_checks_account ON reconciliation_checks (account_ext, period_local_start);
CREATE TRIGGER reconciliation_checks_append_only BEFORE UPDATE OR DELETE ON reconciliation_checks
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- The runs whose reconcile step committed (its done mark is in the same
-- transaction), with what it found.
CREATE TABLE reconcile_runs (
  run_id        bigint PRIMARY KEY REFERENCES runs(id),
  dag           text NOT NULL,
  period_kind   text NOT NULL,
  period_start  date NOT NULL,
  files         bigint NOT NULL,
  checks        bigint NOT NULL,
  failed        bigint NOT NULL,
  warned        bigint NOT NULL,
  skipped       bigint NOT NULL,
  holds         bigint NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX reconcile_runs_dag ON reconcile_runs (dag, period_kind, period_start);
CREATE TRIGGER reconcile_runs_append_only BEFORE UPDATE OR DELETE ON reconcile_runs
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- What each reconciled run accepted, per account and meter (billable
-- records and their quantity): the nights the drift check looks back on.
CREATE TABLE reconcile_run_totals (
  run_id       bigint NOT NULL REFERENCES reconcile_runs(run_id),
  account_ext  text NOT NULL,
  meter        text NOT NULL,
  records      bigint NOT NULL,
  quantity     numeric NOT NULL,
  PRIMARY KEY (run_id, account_ext, meter)
);
CREATE TRIGGER reconcile_run_totals_append_only BEFORE UPDATE OR DELETE ON reconcile_run_totals
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- The largest |actual - expected| that passes: the greater of the absolute
-- and the relative threshold (relative to |expected|). Exact numeric.
CREATE FUNCTION reconcile_tolerance(p_expected numeric, p_relative numeric, p_absolute numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
  SELECT greatest(coalesce(p_absolute, 0), coalesce(p_relative, 0) * abs(coalesce(p_expected, 0)))
$$;

CREATE FUNCTION reconcile_verdict(p_expected numeric, p_actual numeric, p_tolerance numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_expected IS NULL OR p_actual IS NULL THEN 'fail'
              WHEN abs(p_actual - p_expected) <= coalesce(p_tolerance, 0) THEN 'pass'
              ELSE 'fail' END
$$;

-- The billing periods of an account that a run's period concerns: those
-- whose local days overlap the run's days (run dates are read as the
-- account's local calendar days, as the aggregate step reads them).
CREATE FUNCTION reconcile_run_periods(p_account text, p_run bigint) RETURNS TABLE (local_start date)
LANGUAGE sql STABLE AS $$
  SELECT p.local_start
  FROM runs r
  CROSS JOIN LATERAL billing_periods(p_account, (r.period_start - 2)::timestamp AT TIME ZONE 'UTC',
                                     (r.period_end + 2)::timestamp AT TIME ZONE 'UTC') p
  WHERE r.id = p_run AND p.local_start < r.period_end AND p.local_end > r.period_start
$$;

-- Releases are audited with the facts of the hold they lift (the note,
-- who, the account, period and reason), in the releasing transaction.
CREATE FUNCTION reconcile_audit_release() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  h account_holds;
BEGIN
  SELECT * INTO h FROM account_holds WHERE id = NEW.hold_id;
  PERFORM billrun_audit('hold.released', 'account_holds/' || NEW.hold_id,
                        jsonb_build_object('hold_id', NEW.hold_id, 'account', h.account_ext,
                                           'period_start', h.period_start, 'reason', h.reason,
                                           'run_id', h.run_id, 'released_by', NEW.released_by,
                                           'note', NEW.note));
  RETURN NULL;
END
$$;

-- With the audit log (007): each hold and each release gets an entry.
DO $$
BEGIN
  IF to_regprocedure('billrun_audit(text,text,jsonb)') IS NOT NULL THEN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'account_holds'::regclass AND tgname = 'audit_hold') THEN
      PERFORM billrun_audit_table('account_holds', 'hold', false);
    END IF;
    CREATE CONSTRAINT TRIGGER audit_hold_release AFTER INSERT ON hold_releases DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION reconcile_audit_release();
  END IF;
END
$$;

GRANT SELECT ON hold_reasons, reconciliation_checks, reconcile_runs, reconcile_run_totals
  TO billrun_app, billrun_auditor;
GRANT INSERT ON reconciliation_checks, reconcile_runs, reconcile_run_totals TO billrun_app;
GRANT USAGE ON SEQUENCE reconciliation_checks_id_seq TO billrun_app;
