-- The run report (reports/run_report.c): one run, its steps and attempts,
-- its SLA deadlines and events, and what it produced. Times are Unix
-- milliseconds so the renderer can place them on its timeline.

-- name: report_run
SELECT id, dag, period_kind, period_start::text, period_end::text, status, host, pid::text,
       coalesce(rule_version::text, ''), coalesce(rerun_of::text, ''), coalesce(rerun_from, ''),
       coalesce(rerun_account, ''), output_dir,
       (extract(epoch FROM started_at) * 1000)::bigint,
       coalesce((extract(epoch FROM ended_at) * 1000)::bigint, 0),
       (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
       coalesce((SELECT sha256 FROM rule_versions v WHERE v.id = runs.rule_version), '')
FROM runs WHERE id = $1

-- name: report_steps
SELECT step, status, attempts,
       coalesce((extract(epoch FROM started_at) * 1000)::bigint, 0),
       coalesce((extract(epoch FROM ended_at) * 1000)::bigint, 0)
FROM run_steps WHERE run_id = $1
ORDER BY started_at NULLS LAST, step

-- name: report_attempts
SELECT step, attempt, status,
       (extract(epoch FROM started_at) * 1000)::bigint,
       coalesce((extract(epoch FROM ended_at) * 1000)::bigint, 0),
       coalesce(exit_code::text, ''), coalesce(signal::text, ''), coalesce(message, ''), host,
       coalesce(pid::text, '')
FROM step_attempts WHERE run_id = $1 ORDER BY started_at, step, attempt

-- name: report_sla_tables
-- Which SLA tables exist: they come with migration 006, and a report of
-- a database without them draws no deadlines.
SELECT to_regclass('sla_deadlines') IS NOT NULL, to_regclass('sla_events') IS NOT NULL

-- name: report_sla_deadlines
-- One per step with a deadline; step '' (or NULL) is the whole run.
SELECT coalesce(step, ''), spec, (extract(epoch FROM deadline) * 1000)::bigint
FROM sla_deadlines WHERE run_id = $1 ORDER BY step NULLS FIRST

-- name: report_sla_events
-- Misses and predicted misses; projected_at is the predicted finish.
SELECT coalesce(step, ''), kind, (extract(epoch FROM deadline) * 1000)::bigint,
       coalesce((extract(epoch FROM projected_at) * 1000)::bigint, 0),
       (extract(epoch FROM raised_at) * 1000)::bigint
FROM sla_events WHERE run_id = $1 ORDER BY raised_at, kind

-- name: report_counts
-- Rows this run wrote into each table that records its run_id, for the
-- tables the caller may read and that have an index led by run_id (so the
-- count never scans a large table). The scheduler's own tables are left
-- out. The table names come from the catalog and are quoted by format();
-- the candidates are settled first (MATERIALIZED) so that no count runs
-- on a table the filters exclude.
WITH candidates AS MATERIALIZED (
  SELECT n.nspname, c.relname
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'run_id' AND NOT a.attisdropped
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname = current_schema()
    AND c.relname NOT IN ('runs', 'run_steps', 'step_attempts', 'sla_deadlines', 'sla_events')
    AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum)
    AND has_table_privilege(c.oid, 'SELECT'))
SELECT relname,
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM %I.%I WHERE run_id = %L',
                                  nspname, relname, $1::bigint), false, true, '')))[1]::text
FROM candidates
ORDER BY relname

-- name: report_amounts
-- Totals by currency of each such table that also has a currency and a
-- numeric total column (ratings, invoices): count and exact sum, as text.
WITH candidates AS MATERIALIZED (
  SELECT n.nspname, c.relname
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'run_id' AND NOT a.attisdropped
  WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
    AND n.nspname = current_schema()
    AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attname = 'currency'
                AND NOT x.attisdropped)
    AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attname = 'total'
                AND NOT x.attisdropped AND x.atttypid = 'numeric'::regtype)
    AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum)
    AND has_table_privilege(c.oid, 'SELECT'))
SELECT k.relname, t.currency, t.n, t.total
FROM candidates k
CROSS JOIN LATERAL XMLTABLE('/table/row' PASSING
       query_to_xml(format('SELECT currency::text AS currency, count(*) AS n, sum(total) AS total '
                           'FROM %I.%I WHERE run_id = %L GROUP BY currency ORDER BY currency',
                           k.nspname, k.relname, $1::bigint), false, false, '')
       COLUMNS currency text, n bigint, total text) t
ORDER BY k.relname, t.currency

-- name: report_totals
-- The run's totals for the top of the report: files and records ingested
-- (read = accepted + quarantined + duplicates), documents issued, holds
-- made.
SELECT (SELECT count(*) FROM ingest_files WHERE run_id = $1),
       (SELECT coalesce(sum(records_read), 0) FROM ingest_files WHERE run_id = $1),
       (SELECT coalesce(sum(accepted), 0) FROM ingest_files WHERE run_id = $1),
       (SELECT coalesce(sum(quarantined), 0) FROM ingest_files WHERE run_id = $1),
       (SELECT coalesce(sum(duplicates), 0) FROM ingest_files WHERE run_id = $1),
       (SELECT count(*) FROM invoices WHERE run_id = $1),
       (SELECT count(*) FROM credit_notes WHERE run_id = $1),
       (SELECT count(*) FROM account_holds WHERE run_id = $1)

-- name: report_invoiced
-- What the run's invoices total, per currency, exactly.
SELECT currency::text, count(*), sum(total)::text FROM invoices WHERE run_id = $1 GROUP BY currency ORDER BY 1
