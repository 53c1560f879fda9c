-- The step's side of the job contract (jobs/job.c), embedded as
-- SQL_<name> (tools/embed.c): a job marks its own step done in its last
-- transaction, and records the files it renames once that transaction
-- has committed.

-- name: job_commit_done
UPDATE run_steps SET status = 'success', ended_at = clock_timestamp()
WHERE run_id = $1 AND step = $2

-- name: job_pending_rename
-- $3 the temporary path, $4 the final one; the runner replays the list
-- after a crash.
UPDATE run_steps SET pending_renames = pending_renames || jsonb_build_array(jsonb_build_array($3::text, $4::text))
WHERE run_id = $1 AND step = $2
