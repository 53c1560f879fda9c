-- 006: SLA deadlines and events.

-- The deadlines of a run, computed when it starts: one for the run
-- (step = '') and one per step that has an `sla`.
CREATE TABLE sla_deadlines (
  run_id    bigint NOT NULL REFERENCES runs(id),
  step      text NOT NULL,          -- '' = the whole run
  spec      text NOT NULL,          -- as configured: "45m" or "06:00 Europe/Berlin"
  deadline  timestamptz NOT NULL,
  PRIMARY KEY (run_id, step)
);

-- Misses and predicted misses. One per DAG, period, step and kind: the
-- unique key makes "raised exactly once" hold however often a runner
-- checks, and across resumes and reruns of the same period.
CREATE TABLE sla_events (
  id              bigserial PRIMARY KEY,
  dag             text NOT NULL,
  period_start    date NOT NULL,
  step            text NOT NULL,     -- '' = the whole run
  kind            text NOT NULL CHECK (kind IN ('miss', 'predicted_miss')),
  run_id          bigint NOT NULL REFERENCES runs(id),
  deadline        timestamptz NOT NULL,
  projected_at    timestamptz,       -- predicted finish (predicted_miss)
  finished_at     timestamptz,       -- actual finish, when it finished late
  raised_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  raised_by       text NOT NULL,     -- 'runner', 'resume', 'sla check', ...
  alerted_at      timestamptz,
  alert_attempts  integer NOT NULL DEFAULT 0,
  alert_error     text,
  UNIQUE (dag, period_start, step, kind)
);

GRANT SELECT ON sla_deadlines, sla_events TO billrun_app, billrun_auditor;
GRANT INSERT ON sla_deadlines TO billrun_app;
GRANT INSERT, UPDATE ON sla_events TO billrun_app;
GRANT USAGE ON SEQUENCE sla_events_id_seq TO billrun_app;
