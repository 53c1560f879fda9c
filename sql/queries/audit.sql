-- The audit log: appending and reading the chain (see core/audit.h).

-- name: audit_append
SELECT billrun_audit($1, $2, coalesce($3, '{}')::jsonb)

-- name: audit_lock
SELECT billrun_audit_lock()

-- name: audit_head_get
SELECT last_id, last_hash FROM audit_head

-- name: audit_verify_snapshot
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY

-- name: audit_verify_cursor
DECLARE audit_chain NO SCROLL CURSOR FOR
SELECT id, billrun_audit_time(at), actor, kind, entity, payload, prev_hash, hash
FROM audit_log ORDER BY id

-- name: audit_verify_fetch
FETCH FORWARD 5000 FROM audit_chain

-- name: audit_canonical_sql
-- The canonical entry and hash as PostgreSQL computes them (tests compare
-- them with C's).
SELECT billrun_audit_canonical($1::bigint, $2, $3, $4, $5, $6), billrun_audit_hash($7, billrun_audit_canonical($1::bigint, $2, $3, $4, $5, $6))
