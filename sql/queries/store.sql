-- The scheduler's run store: runs, their steps and attempts, rule versions.
-- Each statement is embedded as SQL_<name> (see tools/embed.c).

-- name: store_rule_version_upsert
WITH ins AS (
  INSERT INTO rule_versions (sha256, file_name, content) VALUES ($1, $2, $3)
  ON CONFLICT (sha256) DO NOTHING RETURNING id)
SELECT id FROM ins UNION ALL SELECT id FROM rule_versions WHERE sha256 = $1 LIMIT 1

-- name: store_run_insert
INSERT INTO runs (dag, period_kind, period_start, period_end, host, pid, rule_version,
                  rerun_of, rerun_from, rerun_account, config_sha256)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
RETURNING id

-- name: store_run_set_output
UPDATE runs SET output_dir = $2 WHERE id = $1

-- name: store_run_unfinished
SELECT id FROM runs WHERE dag = $1 AND period_start = $2 AND status = 'running'
ORDER BY id DESC LIMIT 1

-- name: store_run_succeeded
SELECT id FROM runs WHERE dag = $1 AND period_start = $2 AND status = 'success'
ORDER BY id DESC LIMIT 1

-- name: store_run_get
SELECT id, dag, period_kind, period_start::text, period_end::text, status, host, pid,
       coalesce(rule_version, 0), coalesce(rerun_of, 0), rerun_from, rerun_account, output_dir,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       extract(epoch FROM started_at)::bigint
FROM runs WHERE id = $1

-- name: store_run_take_over
UPDATE runs SET host = $2, pid = $3 WHERE id = $1

-- name: store_run_finish
UPDATE runs SET status = $2, ended_at = clock_timestamp() WHERE id = $1

-- name: store_last_success_period
SELECT max(period_start)::text FROM runs WHERE dag = $1 AND status = 'success' AND rerun_of IS NULL

-- name: store_steps_insert
INSERT INTO run_steps (run_id, step, status)
SELECT $1, s.name, s.status
FROM unnest($2::text[], $3::text[]) AS s(name, status)
ON CONFLICT (run_id, step) DO NOTHING

-- name: store_steps_get
-- attempts: also counts attempt rows the step's record missed (a runner
-- that died between them), so that a resumed attempt never reuses a number.
SELECT step, status,
       greatest(attempts, (SELECT coalesce(max(a.attempt), 0) FROM step_attempts a
                           WHERE a.run_id = run_steps.run_id AND a.step = run_steps.step)),
       pending_renames::text,
       coalesce((extract(epoch FROM started_at) * 1000)::bigint, 0),
       coalesce((extract(epoch FROM ended_at) * 1000)::bigint, 0)
FROM run_steps WHERE run_id = $1

-- name: store_step_start
-- started_at is the statement's time, not the transaction's: the runner
-- commits a turn's ends and starts together (core/runner_state.c, the batch).
WITH s AS (
  UPDATE run_steps SET status = 'running', attempts = $3,
         started_at = coalesce(started_at, clock_timestamp()), ended_at = NULL
  WHERE run_id = $1 AND step = $2)
INSERT INTO step_attempts (run_id, step, attempt, host, pid, pid_started, boot_id, started_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp())

-- name: store_attempt_pid
UPDATE step_attempts SET pid = $4, pid_started = $5, boot_id = $6 WHERE run_id = $1 AND step = $2 AND attempt = $3

-- name: store_step_end
WITH a AS (
  UPDATE step_attempts SET status = $4, ended_at = clock_timestamp(), exit_code = $5,
         signal = $6, message = $7
  WHERE run_id = $1 AND step = $2 AND attempt = $3)
UPDATE run_steps SET status = CASE WHEN status = 'success' THEN 'success' ELSE $8 END,
       ended_at = CASE WHEN $8 IN ('retry_wait') THEN NULL ELSE clock_timestamp() END
WHERE run_id = $1 AND step = $2
RETURNING status, pending_renames::text

-- name: store_attempt_ensure
-- After a lost connection: the attempt the runner started, in case the
-- server lost its row (the runner commits asynchronously).
INSERT INTO step_attempts (run_id, step, attempt, host, pid, pid_started, boot_id)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (run_id, step, attempt) DO NOTHING

-- name: store_step_resync
-- After a lost connection: the runner's view of a step, except that a done
-- mark (the step's own durable commit) is never undone.
UPDATE run_steps SET status = CASE WHEN status = 'success' THEN 'success' ELSE $3 END,
       attempts = greatest(attempts, $4::int),
       started_at = CASE WHEN $3 = 'pending' THEN started_at ELSE coalesce(started_at, clock_timestamp()) END,
       ended_at = CASE WHEN status = 'success' OR $3 IN ('pending', 'running', 'retry_wait') THEN ended_at
                       ELSE coalesce(ended_at, clock_timestamp()) END
WHERE run_id = $1 AND step = $2
RETURNING status, pending_renames::text

-- name: store_step_set_status
UPDATE run_steps SET status = $3, ended_at = CASE WHEN $3 = 'pending' THEN NULL ELSE clock_timestamp() END
WHERE run_id = $1 AND step = $2

-- name: store_step_status
SELECT status FROM run_steps WHERE run_id = $1 AND step = $2

-- name: store_steps_clear_renames
UPDATE run_steps SET pending_renames = '[]' WHERE run_id = $1 AND step = $2

-- name: store_attempts_running
SELECT step, attempt, host, coalesce(pid, 0), coalesce(pid_started, 0), coalesce(boot_id, '')
FROM step_attempts WHERE run_id = $1 AND status = 'running'

-- name: store_attempt_abandon
-- A built-in step commits its done mark itself, before it exits and before
-- the runner records the attempt's end: if the runner died in between, the
-- attempt succeeded, and its record says so.
UPDATE step_attempts a
SET status = CASE WHEN s.status = 'success' THEN 'success' ELSE 'abandoned' END,
    ended_at = clock_timestamp(),
    message = CASE WHEN s.status = 'success'
                   THEN 'the step''s done mark committed; the runner stopped before recording the end'
                   ELSE 'the runner stopped before this attempt ended' END
FROM run_steps s
WHERE a.run_id = $1 AND a.step = $2 AND a.attempt = $3 AND s.run_id = a.run_id AND s.step = a.step

-- name: store_steps_reset_unfinished
UPDATE run_steps SET status = 'pending', ended_at = NULL
WHERE run_id = $1 AND status IN ('running', 'retry_wait')

-- name: store_runner_session
-- Before a runner tries the lock: its host and pid, for a second runner's
-- message (store_lock_holder). Keyed by the session, overwritten when the
-- server gives the same backend pid to a later session.
INSERT INTO runner_sessions (backend_pid, host, pid) VALUES (pg_backend_pid(), $1, $2)
ON CONFLICT (backend_pid) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, started_at = now()

-- name: store_lock_holder
-- The session holding the lock of store_lock_try on (DAG $1, period $2):
-- its runner's host and pid, the run it works on ('' while it starts up),
-- and its backend pid.
SELECT coalesce(s.host, ''), coalesce(s.pid::text, ''),
       coalesce((SELECT r.id::text FROM runs r WHERE r.dag = $1 AND r.period_start = $2::date
                 AND r.status = 'running' ORDER BY r.id DESC LIMIT 1), ''),
       l.pid::text
FROM pg_locks l LEFT JOIN runner_sessions s ON s.backend_pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND l.classid = hashtext('billrun run')::oid AND l.objid = hashtext($1 || '/' || $2)::oid
LIMIT 1

-- name: store_lock_try
SELECT pg_try_advisory_lock(hashtext('billrun run'), hashtext($1 || '/' || $2))

-- name: store_lock_release
SELECT pg_advisory_unlock(hashtext('billrun run'), hashtext($1 || '/' || $2))

-- name: store_run_steps_report
SELECT s.step, s.status, s.attempts,
       coalesce(to_char(s.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(s.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(round(extract(epoch FROM (s.ended_at - s.started_at))::numeric, 3)::text, ''),
       coalesce((SELECT coalesce(a.message, '') || CASE WHEN a.exit_code IS NOT NULL THEN ' (exit ' || a.exit_code || ')'
                                          WHEN a.signal IS NOT NULL THEN ' (signal ' || a.signal || ')' ELSE '' END
                 FROM step_attempts a WHERE a.run_id = s.run_id AND a.step = s.step
                 ORDER BY a.attempt DESC LIMIT 1), '')
FROM run_steps s WHERE s.run_id = $1
ORDER BY s.started_at NULLS LAST, s.step

-- name: store_attempts_report
SELECT step, attempt, status,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(exit_code::text, ''), coalesce(signal::text, ''), coalesce(message, ''), host,
       coalesce(pid::text, '')
FROM step_attempts WHERE run_id = $1 ORDER BY id

-- name: store_history
SELECT r.id, r.dag, r.period_start::text, r.status,
       to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(r.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(round(extract(epoch FROM (r.ended_at - r.started_at))::numeric, 3)::text, ''),
       coalesce(r.rule_version::text, ''), coalesce(r.rerun_of::text, ''), r.host
FROM runs r WHERE ($1::text IS NULL OR r.dag = $1)
ORDER BY r.id DESC LIMIT $2

-- name: store_latest_run
SELECT id FROM runs WHERE ($1::text IS NULL OR dag = $1) ORDER BY id DESC LIMIT 1

-- name: store_rule_versions_list
SELECT v.id, v.sha256, v.file_name,
       to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       (SELECT count(*) FROM runs r WHERE r.rule_version = v.id)
FROM rule_versions v ORDER BY v.id

-- name: store_rule_version_get
SELECT id, sha256, file_name, content FROM rule_versions
WHERE id::text = $1 OR sha256 = $1 OR (length($1) >= 8 AND sha256 LIKE $1 || '%')
ORDER BY id LIMIT 2

-- name: store_step_durations
-- Durations (milliseconds) of a step's successful attempts in the DAG's recent
-- successful runs, newest first: the history SLA predictions use.
SELECT round(extract(epoch FROM (a.ended_at - a.started_at))::numeric * 1000)::bigint
FROM step_attempts a JOIN runs r ON r.id = a.run_id
WHERE r.dag = $1 AND r.status = 'success' AND a.step = $2 AND a.status = 'success'
ORDER BY r.id DESC LIMIT $3

-- name: metrics_run
SELECT r.dag, r.status, r.period_start::text,
       round(extract(epoch FROM (coalesce(r.ended_at, clock_timestamp()) - r.started_at))::numeric, 3)::text,
       extract(epoch FROM coalesce(r.ended_at, clock_timestamp()))::bigint::text
FROM runs r WHERE r.id = $1

-- name: metrics_sla
SELECT k.kind, (SELECT count(*) FROM sla_events e WHERE e.dag = $1 AND e.kind = k.kind)
FROM (VALUES ('miss'), ('predicted_miss')) AS k(kind)

-- name: metrics_steps
SELECT s.step, s.status, s.attempts,
       coalesce(round(extract(epoch FROM (s.ended_at - s.started_at))::numeric, 3)::text, '0')
FROM run_steps s WHERE s.run_id = $1 ORDER BY s.step

-- name: store_run_status_json
-- `billrun status --json`: one run with how many of its documents have no
-- files yet.
SELECT id, dag, period_kind, period_start, period_end, status, host, pid,
       coalesce(rule_version::text, ''), coalesce(rerun_of::text, ''), coalesce(rerun_from, ''),
       coalesce(rerun_account, ''), output_dir, started_at, coalesce(ended_at::text, ''),
       m.invoices, m.credit_notes
FROM runs CROSS JOIN billrun_documents_without_files(runs.id) m WHERE id = $1
