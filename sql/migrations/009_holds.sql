-- 009: holds. An account (for one of its billing periods) that the run
-- could not bill cleanly is held back from invoicing with a reason; the
-- rest of the run goes on. A hold is lifted only by a release, which needs
-- a note and is kept (and audited): holds are never updated or deleted.

CREATE TABLE account_holds (
  id            bigserial PRIMARY KEY,
  run_id        bigint NOT NULL REFERENCES runs(id),
  account_ext   text NOT NULL,
  period_start  date NOT NULL,   -- the account's billing period (its local start day)
  reason        text NOT NULL CHECK (reason ~ '^[a-z][a-z0-9_]*$'),
  detail        text NOT NULL DEFAULT '',
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX account_holds_account ON account_holds (account_ext, period_start);
CREATE TRIGGER account_holds_append_only BEFORE UPDATE OR DELETE ON account_holds
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

CREATE TABLE hold_releases (
  hold_id      bigint PRIMARY KEY REFERENCES account_holds(id),
  released_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  released_by  text NOT NULL,
  note         text NOT NULL CHECK (length(btrim(note)) > 0)
);
CREATE TRIGGER hold_releases_append_only BEFORE UPDATE OR DELETE ON hold_releases
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- Holds still in force.
CREATE VIEW account_holds_open AS
  SELECT h.* FROM account_holds h
  WHERE NOT EXISTS (SELECT 1 FROM hold_releases r WHERE r.hold_id = h.id);

-- Is the account held for the billing period starting on period_start?
CREATE FUNCTION billrun_is_held(p_account text, p_period_start date) RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT EXISTS (SELECT 1 FROM account_holds_open
                 WHERE account_ext = p_account AND period_start = p_period_start)
$$;

GRANT SELECT, INSERT ON account_holds, hold_releases TO billrun_app;
GRANT SELECT ON account_holds, hold_releases, account_holds_open TO billrun_auditor;
GRANT SELECT ON account_holds_open TO billrun_app;
GRANT USAGE ON SEQUENCE account_holds_id_seq TO billrun_app;
