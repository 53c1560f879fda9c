-- 024: the aggregate step reads partial sums (023), and its work queue
-- (usage_dirty, 005) is fed from them instead of from usage itself.
--
-- 005's statement trigger on usage kept every inserted row in a
-- transition table and grouped it by account: 0.3 s of every 1.1 s a
-- million-row COPY took (measured, table without indexes). Every file's
-- usage and its partials are written in one transaction (jobs/ingest.c),
-- so a trigger on usage_partials sees the same accounts and event spans
-- from a few thousand rows: as before, no usage can commit without its
-- queue row, whatever order concurrent loads commit in. The aggregate
-- step checks for this trigger (aggregate_trigger_present).
DROP TRIGGER IF EXISTS usage_dirty ON usage;

CREATE FUNCTION usage_partials_mark_dirty() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_dirty (account_ext, first_event, last_event, records)
  SELECT account_ext, min(first_event), max(last_event), sum(records)
  FROM new_partials GROUP BY account_ext;
  RETURN NULL;
END
$$;

CREATE TRIGGER usage_dirty AFTER INSERT ON usage_partials REFERENCING NEW TABLE AS new_partials
  FOR EACH STATEMENT EXECUTE FUNCTION usage_partials_mark_dirty();

-- The aggregate step finds the accounts with usage near the periods it
-- closes from the partials of that time: they arrive in time order,
-- mostly, so a BRIN index keeps old history out of the scan.
CREATE INDEX usage_partials_last_event ON usage_partials USING brin (last_event);

-- Partials for usage rows that no partial covers yet: rows written by
-- hand rather than by ingest (test fixtures, a benchmark's generated
-- month, a repair). Ingest never needs it: it writes every file's
-- partials with the file. Rows are taken per file after the highest
-- usage id its partials already cover (usage ids ascend). Returns the
-- number of partials added.
CREATE FUNCTION billrun_partials_catch_up() RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  WITH files AS (
    SELECT u.file_id, max(u.usage_id) AS max_id FROM usage u GROUP BY u.file_id
  ), todo AS (
    SELECT f.file_id, coalesce((SELECT max(p.max_usage_id) FROM usage_partials p WHERE p.file_id = f.file_id), 0)
             AS after_id
    FROM files f
  ), added AS (
    INSERT INTO usage_partials
    SELECT p.* FROM todo t CROSS JOIN LATERAL billrun_file_partials(t.file_id, t.after_id) p
    WHERE EXISTS (SELECT 1 FROM files f WHERE f.file_id = t.file_id AND f.max_id > t.after_id)
    RETURNING 1
  )
  SELECT count(*) INTO n FROM added;
  RETURN n;
END
$$;
GRANT EXECUTE ON FUNCTION billrun_partials_catch_up() TO billrun_app;
