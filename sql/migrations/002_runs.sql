-- 002: the scheduler's state: rule versions, runs, step states and attempts.

-- The full text of every rate-card version, stored once per SHA-256.
CREATE TABLE rule_versions (
  id          bigserial PRIMARY KEY,
  sha256      text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  file_name   text NOT NULL,
  content     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER rule_versions_append_only BEFORE UPDATE OR DELETE ON rule_versions
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

CREATE TABLE runs (
  id             bigserial PRIMARY KEY,
  dag            text NOT NULL,
  period_kind    text NOT NULL CHECK (period_kind IN ('day', 'month')),
  period_start   date NOT NULL,
  period_end     date NOT NULL,            -- exclusive
  status         text NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'success', 'failed')),
  started_at     timestamptz NOT NULL DEFAULT now(),
  ended_at       timestamptz,
  host           text NOT NULL,
  pid            integer NOT NULL,
  rule_version   bigint REFERENCES rule_versions(id),
  rerun_of       bigint REFERENCES runs(id),
  rerun_from     text,
  rerun_account  text,
  config_sha256  text,
  output_dir     text NOT NULL DEFAULT ''
);
CREATE INDEX runs_dag_period ON runs (dag, period_start);

-- One row per step of a run: its current state.
CREATE TABLE run_steps (
  run_id      bigint NOT NULL REFERENCES runs(id),
  step        text NOT NULL,
  status      text NOT NULL DEFAULT 'pending'
              CHECK (status IN ('pending', 'running', 'retry_wait', 'success', 'failed',
                                'upstream_failed', 'skipped')),
  attempts    integer NOT NULL DEFAULT 0,
  started_at  timestamptz,
  ended_at    timestamptz,
  -- files a step wrote under a temporary name, renamed after its commit:
  -- kept here so that a resume finishes renames a crash interrupted.
  pending_renames jsonb NOT NULL DEFAULT '[]',
  PRIMARY KEY (run_id, step)
);

-- Every attempt of every step, for history and for SLA predictions.
CREATE TABLE step_attempts (
  id          bigserial PRIMARY KEY,
  run_id      bigint NOT NULL REFERENCES runs(id),
  step        text NOT NULL,
  attempt     integer NOT NULL,
  status      text NOT NULL DEFAULT 'running'
              CHECK (status IN ('running', 'success', 'failed', 'retryable', 'timeout', 'crashed',
                                'abandoned')),
  started_at  timestamptz NOT NULL DEFAULT now(),
  ended_at    timestamptz,
  exit_code   integer,
  signal      integer,
  message     text,
  host        text NOT NULL,
  pid         integer,
  UNIQUE (run_id, step, attempt)
);

GRANT SELECT ON rule_versions, runs, run_steps, step_attempts TO billrun_app, billrun_auditor;
GRANT INSERT ON rule_versions TO billrun_app;
GRANT INSERT, UPDATE ON runs, run_steps, step_attempts TO billrun_app;
GRANT USAGE ON SEQUENCE rule_versions_id_seq, runs_id_seq, step_attempts_id_seq TO billrun_app;
