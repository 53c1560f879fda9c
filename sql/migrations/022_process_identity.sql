-- 022: who a recorded process is, and who holds a run's lock.
--
-- A step attempt's pid alone names whatever process has that pid now: a
-- resume after a reboot, or after the pid was reused, would kill a
-- stranger. With the process's start time (field 22 of /proc/PID/stat,
-- clock ticks after boot) and the boot's id, the resume signals only the
-- process the runner started (core/proc.h).
ALTER TABLE step_attempts
  ADD COLUMN pid_started bigint,   -- start time of pid, clock ticks after boot
  ADD COLUMN boot_id text;         -- /proc/sys/kernel/random/boot_id when it started

-- Each runner's database session, written before it tries the run's
-- advisory lock: a second runner names the holder's host and pid from
-- here (through pg_locks) even while the holder has no run row yet.
CREATE TABLE runner_sessions (
  backend_pid integer PRIMARY KEY,         -- pg_backend_pid() of the runner's session
  host        text NOT NULL,
  pid         integer NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now()
);
GRANT SELECT, INSERT, UPDATE ON runner_sessions TO billrun_app;
GRANT SELECT ON runner_sessions TO billrun_auditor;

-- A runner checks at its start that the schema is complete (migrate_check)
-- as the application role.
GRANT SELECT ON billrun_migrations TO billrun_app, billrun_auditor;
