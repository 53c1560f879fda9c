-- 030: what "the period's data" is, for the XBRL report (reports/README.md,
-- "Facts of the period's data"). Each fact counts data of the period,
-- never what the runs dated in it happened to process: a month billed
-- night by night and one billed in a catch-up run a week later report the
-- same facts.
--
-- billrun_period_files: the usage files whose data belongs to the period
-- [p_start, p_end). A file belongs to the UTC day of its latest accepted
-- record's usage time (from its partial sums, 023: the file's records are
-- read once); a late record in a file counts with the file, as the file
-- is what was delivered, read and controlled. A file without an accepted
-- record (all quarantined or duplicates) has no usage time of its own and
-- belongs to the period of the run that read it.
CREATE FUNCTION billrun_period_files(p_start date, p_end date) RETURNS TABLE (file_id bigint)
LANGUAGE sql STABLE AS $$
  SELECT f.id
  FROM ingest_files f
  JOIN runs r ON r.id = f.run_id
  LEFT JOIN LATERAL (SELECT max(u.last_event) AS last_event FROM usage_partials u WHERE u.file_id = f.id) l ON true
  WHERE coalesce((l.last_event AT TIME ZONE 'UTC')::date, r.period_start) >= p_start
    AND coalesce((l.last_event AT TIME ZONE 'UTC')::date, r.period_start) < p_end
$$;

-- billrun_period_billing_periods: the accounts' billing periods that
-- closed in [p_start, p_end): their local end day lies in (p_start,
-- p_end], as RatedAmount has always counted them.
CREATE FUNCTION billrun_period_billing_periods(p_start date, p_end date)
RETURNS TABLE (account_ext text, period_local_start date)
LANGUAGE sql STABLE AS $$
  SELECT r.account_ext, r.period_local_start
  FROM ratings_current r
  WHERE r.closed AND r.period_local_end > p_start AND r.period_local_end <= p_end
$$;

-- billrun_period_latest_checks: the latest result of every reconciliation
-- check of the period's data (its files; its billing periods closed in
-- it), per subject (check, measure, file or account period, meter,
-- currency): a check a nightly run failed and a later run passed, once
-- the late file came, counts as passed.
CREATE FUNCTION billrun_period_latest_checks(p_start date, p_end date) RETURNS SETOF reconciliation_checks
LANGUAGE sql STABLE AS $$
  SELECT DISTINCT ON (c.check_name, c.measure, c.file_id, c.account_ext, c.period_local_start, c.meter, c.currency) c.*
  FROM reconciliation_checks c
  WHERE c.file_id IN (SELECT pf.file_id FROM billrun_period_files(p_start, p_end) pf)
     OR (c.account_ext, c.period_local_start) IN (SELECT bp.account_ext, bp.period_local_start
                                                   FROM billrun_period_billing_periods(p_start, p_end) bp)
  ORDER BY c.check_name, c.measure, c.file_id, c.account_ext, c.period_local_start, c.meter, c.currency, c.id DESC
$$;
