-- SLA deadlines, events and the history predictions use.

-- name: sla_deadline_insert
-- $1 run, $2 step ('' = run), $3 spec, $4 kind ('after' or 'at'),
-- $5 milliseconds after the run started (kind 'after'),
-- $6 time of day and $7 zone (kind 'at'; NULL zone = the server's),
-- $8 the run's scheduled start (Unix ms). "06:00 Europe/Berlin" is the
-- first 06:00 in Berlin after the scheduled start: the day is added in
-- local time, so PostgreSQL's time zone database does the DST arithmetic.
INSERT INTO sla_deadlines (run_id, step, spec, deadline)
SELECT $1, $2, $3,
  CASE WHEN $4 = 'after' THEN r.started_at + make_interval(secs => $5::bigint / 1000.0)
       WHEN (w.day + $6::time) AT TIME ZONE w.zone > w.sched THEN (w.day + $6::time) AT TIME ZONE w.zone
       ELSE (w.day + 1 + $6::time) AT TIME ZONE w.zone
  END
FROM runs r,
     LATERAL (SELECT to_timestamp($8::bigint / 1000.0) AS sched,
                     coalesce($7::text, current_setting('TimeZone')) AS zone) z,
     LATERAL (SELECT z.sched, z.zone, (z.sched AT TIME ZONE z.zone)::date AS day) w
WHERE r.id = $1
ON CONFLICT (run_id, step) DO NOTHING

-- name: sla_deadlines_get
SELECT step, spec, (extract(epoch FROM deadline) * 1000)::bigint,
       to_char(deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
FROM sla_deadlines WHERE run_id = $1 ORDER BY step

-- name: sla_event_raise
-- Returns the new event's id, or nothing when it was raised before.
INSERT INTO sla_events (dag, period_start, step, kind, run_id, deadline, projected_at, finished_at, raised_by)
VALUES ($1, $2, $3, $4, $5, to_timestamp($6::bigint / 1000.0),
        to_timestamp($7::bigint / 1000.0), to_timestamp($8::bigint / 1000.0), $9)
ON CONFLICT (dag, period_start, step, kind) DO NOTHING
RETURNING id

-- name: sla_events_unalerted
SELECT e.id, e.dag, e.period_start::text, e.step, e.kind, e.run_id,
       to_char(e.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(e.projected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(e.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '')
FROM sla_events e
WHERE e.alerted_at IS NULL AND e.alert_attempts < $1 AND ($2::bigint IS NULL OR e.run_id = $2)
ORDER BY e.id

-- name: sla_event_alerted
UPDATE sla_events SET alerted_at = clock_timestamp(), alert_attempts = alert_attempts + 1, alert_error = NULL
WHERE id = $1

-- name: sla_event_alert_failed
UPDATE sla_events SET alert_attempts = alert_attempts + 1, alert_error = $2 WHERE id = $1

-- name: sla_events_get
SELECT coalesce(nullif(step, ''), '(run)'), kind,
       to_char(deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
       coalesce(to_char(projected_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       coalesce(to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       to_char(raised_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), raised_by,
       coalesce(to_char(alerted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       alert_attempts::text, coalesce(alert_error, '')
FROM sla_events WHERE dag = $1 AND period_start = $2 ORDER BY id

-- name: sla_history
-- Durations in milliseconds of each step's successful attempts in the
-- DAG's last N successful runs (not reruns), per step, newest first.
SELECT a.step, round(extract(epoch FROM (a.ended_at - a.started_at)) * 1000)::bigint
FROM step_attempts a
JOIN (SELECT id FROM runs WHERE dag = $1 AND status = 'success' AND rerun_of IS NULL AND id <> $3
      ORDER BY id DESC LIMIT $2) r ON r.id = a.run_id
WHERE a.status = 'success'
ORDER BY a.step, a.run_id DESC

-- name: sla_history_runs
SELECT count(*) FROM (SELECT id FROM runs WHERE dag = $1 AND status = 'success' AND rerun_of IS NULL
                      AND id <> $3 ORDER BY id DESC LIMIT $2) r

-- name: sla_steps_times
SELECT step, status,
       coalesce((extract(epoch FROM started_at) * 1000)::bigint, 0),
       coalesce((extract(epoch FROM ended_at) * 1000)::bigint, 0)
FROM run_steps WHERE run_id = $1

-- name: sla_runs_unfinished
SELECT id, dag, period_start::text, host, pid FROM runs WHERE status = 'running' ORDER BY id

-- name: sla_run_times
SELECT (extract(epoch FROM started_at) * 1000)::bigint, dag, period_start::text, period_end::text,
       coalesce((extract(epoch FROM ended_at) * 1000)::bigint, 0), status
FROM runs WHERE id = $1
