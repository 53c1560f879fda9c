-- Masked exports (cmd/cmd_export.c): a period's usage, read in batches.
-- Times are UTC; the account's name and e-mail are those of its current
-- version. Personal fields are masked in C (core/mask.c), never here.

-- name: export_snapshot
SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY

-- name: export_usage_cursor
DECLARE export_usage NO SCROLL CURSOR FOR
SELECT u.usage_id::text, u.source, u.event_key, u.file_id::text, u.line_no::text, u.account_ext,
       coalesce(a.name, ''), coalesce(a.email, ''), u.meter,
       to_char(u.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), u.quantity::text,
       coalesce(u.cost::text, ''), coalesce(u.currency, ''), u.billable::text, coalesce(u.attributes::text, '')
FROM usage u LEFT JOIN accounts a ON a.external_id = u.account_ext AND a.valid_to IS NULL
WHERE u.event_time >= $1::timestamp AT TIME ZONE 'UTC' AND u.event_time < $2::timestamp AT TIME ZONE 'UTC'
ORDER BY u.event_time, u.usage_id

-- name: export_usage_fetch
FETCH FORWARD 10000 FROM export_usage
