-- The quarantine step (jobs/quarantine.c) and `billrun quarantine`
-- (cmd/cmd_quarantine.c). The step's statements run in one REPEATABLE READ
-- transaction with its done mark; $1 is the run, $2 the one account of a
-- dispute rerun or NULL. A hold is written once per run, account period
-- and reason (jobs/RECONCILE.md).

-- name: quarantine_hold_records
-- Bad records of known accounts that this run's ingest quarantined: the
-- account's periods that the run's days fall in are held (a bad record's
-- own time may be what is wrong with it), and so is every period of the
-- account that this run aggregated (usage that came with the bad records:
-- a file of last month's calls delivered today holds last month).
WITH bad AS (
  SELECT q.account_ext, count(*) AS n, min(q.id) AS first_id,
         string_agg(DISTINCT q.reason, ', ') AS reasons
  FROM quarantine_records q
  WHERE q.run_id = $1 AND q.account_ext IS NOT NULL AND ($2::text IS NULL OR q.account_ext = $2)
    AND EXISTS (SELECT 1 FROM accounts a WHERE a.external_id = q.account_ext)
  GROUP BY q.account_ext
)
INSERT INTO account_holds (run_id, account_ext, period_start, reason, detail)
SELECT $1, b.account_ext, rp.local_start, 'bad_record',
       format('%s record%s quarantined (%s); first: record %s, file ''%s'' line %s: %s', b.n,
              CASE WHEN b.n = 1 THEN '' ELSE 's' END, b.reasons, q.id, q.file_name, q.line_no, q.message)
FROM bad b
JOIN quarantine_records q ON q.id = b.first_id
CROSS JOIN LATERAL (SELECT p.local_start FROM reconcile_run_periods(b.account_ext, $1) p
                    UNION
                    SELECT s.period_local_start FROM agg_snapshots s
                    WHERE s.run_id = $1 AND s.account_ext = b.account_ext) rp
WHERE NOT EXISTS (SELECT 1 FROM account_holds h
                  WHERE h.run_id = $1 AND h.account_ext = b.account_ext AND h.period_start = rp.local_start
                    AND h.reason = 'bad_record')
ORDER BY b.account_ext, rp.local_start
RETURNING id

-- name: quarantine_hold_ratings
-- Account periods whose current rating, made by this run, is held (no
-- subscription, unknown plan, no tax or FX rate, ...): the rating's reason.
INSERT INTO account_holds (run_id, account_ext, period_start, reason, detail)
SELECT $1, r.account_ext, r.period_local_start, r.hold_reason,
       format('rating %s: %s', r.id, coalesce(r.hold_detail, ''))
FROM ratings r
WHERE r.run_id = $1 AND r.status = 'held' AND ($2::text IS NULL OR r.account_ext = $2)
  AND NOT EXISTS (SELECT 1 FROM ratings n
                  WHERE n.account_ext = r.account_ext AND n.period_local_start = r.period_local_start
                    AND (n.snapshot_id, n.id) > (r.snapshot_id, r.id))
  AND NOT EXISTS (SELECT 1 FROM account_holds h
                  WHERE h.run_id = $1 AND h.account_ext = r.account_ext AND h.period_start = r.period_local_start
                    AND h.reason = r.hold_reason)
ORDER BY r.account_ext, r.period_local_start
RETURNING id

-- name: quarantine_hold_unpriced
-- Usage with no price: a meter with a value in the snapshot a current
-- rating of this run priced, and no usage line for it (the plan has no
-- usage charge on that meter in force).
WITH cur AS (
  SELECT r.* FROM ratings r
  WHERE r.run_id = $1 AND r.status = 'rated' AND ($2::text IS NULL OR r.account_ext = $2)
    AND NOT EXISTS (SELECT 1 FROM ratings n
                    WHERE n.account_ext = r.account_ext AND n.period_local_start = r.period_local_start
                      AND (n.snapshot_id, n.id) > (r.snapshot_id, r.id))
), unpriced AS (
  SELECT c.account_ext, c.period_local_start, c.id AS rating_id,
         string_agg(format('meter ''%s'' = %s in %s records', v.meter, v.value, v.records), ', ' ORDER BY v.meter) AS meters
  FROM cur c
  JOIN agg_values v ON v.snapshot_id = c.snapshot_id
  WHERE v.value <> 0
    AND NOT EXISTS (SELECT 1 FROM rated_lines l WHERE l.rating_id = c.id AND l.kind = 'usage' AND l.meter = v.meter)
  GROUP BY c.account_ext, c.period_local_start, c.id
)
INSERT INTO account_holds (run_id, account_ext, period_start, reason, detail)
SELECT $1, u.account_ext, u.period_local_start, 'no_price',
       format('rating %s: no usage charge in the plan for %s', u.rating_id, u.meters)
FROM unpriced u
WHERE NOT EXISTS (SELECT 1 FROM account_holds h
                  WHERE h.run_id = $1 AND h.account_ext = u.account_ext AND h.period_start = u.period_local_start
                    AND h.reason = 'no_price')
ORDER BY u.account_ext, u.period_local_start
RETURNING id

-- name: quarantine_hold_parties
-- Account periods whose current rating, made by this run, bills an account
-- version that an invoice could not name fully: billed business to
-- business in the EU without its legal name, address, country or VAT id
-- (billrun_buyer_missing, migration 045; jobs/INVOICES.md, "The
-- parties"). The detail names the missing fields; the hold is released
-- like any other once the account is imported with them.
WITH cur AS (
  SELECT r.account_ext, r.period_local_start, r.id, billrun_buyer_missing(r.account_id) AS missing
  FROM ratings r
  WHERE r.run_id = $1 AND r.status = 'rated' AND ($2::text IS NULL OR r.account_ext = $2)
    AND NOT EXISTS (SELECT 1 FROM ratings n
                    WHERE n.account_ext = r.account_ext AND n.period_local_start = r.period_local_start
                      AND (n.snapshot_id, n.id) > (r.snapshot_id, r.id))
)
INSERT INTO account_holds (run_id, account_ext, period_start, reason, detail)
SELECT $1, c.account_ext, c.period_local_start, 'buyer_details',
       format('rating %s: the account is billed business to business in the EU and has no %s', c.id, c.missing)
FROM cur c
WHERE c.missing <> ''
  AND NOT EXISTS (SELECT 1 FROM account_holds h
                  WHERE h.run_id = $1 AND h.account_ext = c.account_ext AND h.period_start = c.period_local_start
                    AND h.reason = 'buyer_details')
ORDER BY c.account_ext, c.period_local_start
RETURNING id

-- name: quarantine_counts
-- For the step's log line: this run's holds (all, and open), the open
-- holds of all runs, this run's quarantined records and drift warnings.
SELECT (SELECT count(*) FROM account_holds WHERE run_id = $1),
       (SELECT count(*) FROM account_holds_open WHERE run_id = $1),
       (SELECT count(*) FROM account_holds_open),
       (SELECT count(*) FROM quarantine_records WHERE run_id = $1),
       (SELECT count(*) FROM reconciliation_checks WHERE run_id = $1 AND verdict = 'warn')

-- name: quarantine_run_holds
-- For the step's WARN lines: the first $2 holds of this run (the reconcile
-- step's and this step's), one line each naming the account.
SELECT h.account_ext, h.period_start::text, h.reason, h.detail
FROM account_holds h
WHERE h.run_id = $1
ORDER BY h.id
LIMIT $2::integer

-- name: quarantine_report_cursor
-- The report: every hold in force (this run's and earlier ones), this
-- run's quarantined records (where they are, why; not their raw text,
-- which may hold personal data: `billrun quarantine list --records` shows
-- it) and this run's drift warnings.
DECLARE quarantine_report NO SCROLL CURSOR FOR
SELECT 'hold' AS item, h.id, h.run_id, h.account_ext, h.period_start::text, h.reason,
       coalesce(r.description, ''), h.detail, NULL::text AS file, NULL::integer AS line,
       to_char(h.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), h.run_id = $1 AS this_run,
       1 AS part
FROM account_holds_open h LEFT JOIN hold_reasons r ON r.code = h.reason
UNION ALL
SELECT 'record', q.id, q.run_id, q.account_ext, NULL, q.reason, coalesce(r.description, ''), q.message,
       q.file_name, q.line_no, to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), true, 2
FROM quarantine_records q LEFT JOIN quarantine_reasons r ON r.code = q.reason
WHERE q.run_id = $1
UNION ALL
SELECT 'warning', c.id, c.run_id, c.account_ext, NULL, c.check_name, coalesce(r.description, ''), c.detail, NULL,
       NULL, to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), true, 3
FROM reconciliation_checks c LEFT JOIN hold_reasons r ON r.code = c.check_name
WHERE c.run_id = $1 AND c.verdict = 'warn'
ORDER BY part, account_ext, period_start, id

-- name: quarantine_report_fetch
FETCH FORWARD 5000 FROM quarantine_report

-- name: quarantine_report_close
CLOSE quarantine_report

-- name: quarantine_list
-- `billrun quarantine list`: holds, newest last. $1 run or NULL, $2 reason
-- or NULL, $3 true = released ones too.
SELECT h.id, h.run_id, h.account_ext, h.period_start::text, h.reason,
       CASE WHEN x.hold_id IS NULL THEN 'held' ELSE 'released' END,
       to_char(h.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), h.detail,
       to_char(x.released_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), x.released_by, x.note
FROM account_holds h
LEFT JOIN hold_releases x ON x.hold_id = h.id
WHERE ($1::bigint IS NULL OR h.run_id = $1::bigint) AND ($2::text IS NULL OR h.reason = $2)
  AND ($3::boolean OR x.hold_id IS NULL)
ORDER BY h.id

-- name: quarantine_list_records
-- `billrun quarantine list --records`: quarantined records with their raw
-- text. $1 run or NULL, $2 reason or NULL.
SELECT q.id, q.run_id, coalesce(q.account_ext, ''), q.reason, q.file_name, q.line_no, q.message, q.raw
FROM quarantine_records q
WHERE ($1::bigint IS NULL OR q.run_id = $1::bigint) AND ($2::text IS NULL OR q.reason = $2)
ORDER BY q.id

-- name: quarantine_reason_known
SELECT (EXISTS (SELECT 1 FROM hold_reasons WHERE code = $1) OR EXISTS (SELECT 1 FROM quarantine_reasons WHERE code = $1)
        OR EXISTS (SELECT 1 FROM account_holds WHERE reason = $1))::int

-- name: quarantine_hold_get
-- A hold to release, and whether (when, by whom) it was released. Two
-- releases of one hold at once: hold_releases' key refuses the second.
SELECT h.id, h.account_ext, h.period_start::text, h.reason, x.hold_id IS NOT NULL,
       to_char(x.released_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), x.released_by
FROM account_holds h
LEFT JOIN hold_releases x ON x.hold_id = h.id
WHERE h.id = $1::bigint

-- name: quarantine_release
-- Lift hold $1 ($2 who, $3 the note). The audit entry is written by a
-- trigger (011_reconcile.sql) in the same transaction.
INSERT INTO hold_releases (hold_id, released_by, note) VALUES ($1::bigint, $2, $3)

-- name: quarantine_file_ingested
-- Was a file with SHA-256 $1 ingested? Its id, name and run.
SELECT id, file_name, run_id FROM ingest_files WHERE sha256 = $1

-- name: quarantine_reprocess_audit
-- The audit entry of a file handed back to ingest.
SELECT billrun_audit('quarantine.reprocess', 'spool/' || $1::text,
                     jsonb_build_object('file', $1::text, 'source', $2::text, 'sha256', $3::text,
                                        'size_bytes', $4::bigint, 'from', $5::text, 'by', $6::text))
