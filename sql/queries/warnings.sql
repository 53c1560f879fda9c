-- A run's warnings (migration 025): what `billrun status`, the run report
-- and the metrics file tell of the problems a run found that did not fail
-- it. $1 is the run.

-- name: warnings_list
-- The first $2 warnings, for a listing: kind, file, account, period,
-- reason, detail ('' where a column does not apply).
SELECT kind, coalesce(file_name, ''), coalesce(account_ext, ''), coalesce(period_start::text, ''), reason,
       coalesce(detail, '')
FROM billrun_run_warnings($1)
LIMIT $2::integer

-- name: warnings_counts
-- How many of each kind, every kind listed (0 when none).
SELECT k.kind, count(w.kind)
FROM billrun_warning_kinds() k
LEFT JOIN billrun_run_warnings($1) w ON w.kind = k.kind
GROUP BY k.kind, k.ord
ORDER BY k.ord
