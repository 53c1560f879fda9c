-- 025: a run's warnings (issue 19): the problems a run found that did not
-- fail it, and that the operator must hear of all the same. One
-- definition, read by the places that tell them: `billrun status`
-- (cmd/cmd_status.c), the run report (reports/run_report.c) and the
-- metrics file (core/metrics.c, billrun_run_warnings). Each warning is a
-- row billrun keeps anyway; nothing here is a second tally:
--   * bad_header: a file refused for its header (ingest_files.header_problem;
--     its records are quarantined with reason bad_header);
--   * control_mismatch, control_invalid: a file that does not match its
--     control file, or whose control file could not be read
--     (ingest_files.control_status, control_detail);
--   * hold: an account period held back from invoicing (account_holds,
--     every reason);
--   * drift: a drift finding of the reconcile step (reconciliation_checks,
--     check 'drift': 'warn', or 'fail' with reconcile.drift_hold, which
--     holds the account as well).
-- Warnings never change a run's status or exit status.

-- The kinds, in the order they are told; billrun_run_warnings returns no
-- other.
CREATE FUNCTION billrun_warning_kinds() RETURNS TABLE (kind text, ord integer)
LANGUAGE sql IMMUTABLE AS $$
  VALUES ('bad_header', 1), ('control_mismatch', 2), ('control_invalid', 3), ('hold', 4), ('drift', 5)
$$;

-- Run p_run's warnings, in kind order, then by file or account. file_name
-- is set for the file kinds, account_ext (and period_start for holds) for
-- the others; reason is the hold reason, the check or the kind.
CREATE FUNCTION billrun_run_warnings(p_run bigint)
RETURNS TABLE (kind text, file_name text, account_ext text, period_start date, reason text, detail text)
LANGUAGE sql STABLE AS $$
  SELECT w.kind, w.file_name, w.account_ext, w.period_start, w.reason, w.detail
  FROM (
    SELECT 'bad_header' AS kind, f.file_name, NULL::text AS account_ext, NULL::date AS period_start,
           'bad_header' AS reason, f.header_problem AS detail, f.id AS ord
    FROM ingest_files f WHERE f.run_id = p_run AND f.header_problem IS NOT NULL
    UNION ALL
    SELECT 'control_' || f.control_status, f.file_name, NULL, NULL, 'control_' || f.control_status,
           coalesce(f.control_detail, ''), f.id
    FROM ingest_files f WHERE f.run_id = p_run AND f.control_status IN ('mismatch', 'invalid')
    UNION ALL
    SELECT 'hold', NULL, h.account_ext, h.period_start, h.reason, h.detail, h.id
    FROM account_holds h WHERE h.run_id = p_run
    UNION ALL
    SELECT 'drift', NULL, c.account_ext, NULL, 'drift', c.detail, c.id
    FROM reconciliation_checks c WHERE c.run_id = p_run AND c.check_name = 'drift'
  ) w
  JOIN billrun_warning_kinds() k ON k.kind = w.kind
  ORDER BY k.ord, w.ord
$$;
