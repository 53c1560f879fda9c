-- 010: invoices and credit notes, their numbering series, the drafts they
-- are issued from, and the chargeback reports. jobs/INVOICES.md explains
-- the design; in short:
--   * a draft (invoice_drafts, invoice_draft_lines) is work in progress:
--     no number, freely replaced; issuing turns a draft into an invoice or
--     credit note and deletes it, in one transaction;
--   * numbers are taken from a counter row per series (invoice_series),
--     locked FOR UPDATE by the issuing transaction, so they are consumed
--     only by an issue that commits: gapless and strictly increasing;
--   * issued documents and their lines are append-only for everyone (no
--     UPDATE or DELETE grant, and the trigger of 001): a correction is a
--     credit note and a new invoice, never a change;
--   * invoice_reviews records, per rating, what the invoice step did with
--     it (unique on the rating): a redone step issues nothing twice, and a
--     rating that changes nothing is looked at once.

-- ---------------------------------------------------------------------
-- Numbering. One row per series: the format with its date parts filled in
-- ("INV-2026-{SEQ:6}"), so a yearly format starts a new series each year.
CREATE TABLE invoice_series (
  series      text PRIMARY KEY CHECK (series ~ '\{SEQ(:[0-9]+)?\}'),
  doc         text NOT NULL CHECK (doc IN ('invoice', 'credit_note')),
  last_seq    bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
  created_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A counter only moves forward, and never by more than the rows issued
-- with it (checked by the issuing statement; here: never backwards).
CREATE FUNCTION billrun_series_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.series = OLD.series AND NEW.doc = OLD.doc AND NEW.created_at = OLD.created_at
     AND NEW.last_seq >= OLD.last_seq THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'series % may only count forward', OLD.series
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'numbers already issued are never reused';
END
$$;
CREATE TRIGGER invoice_series_forward BEFORE UPDATE ON invoice_series
  FOR EACH ROW EXECUTE FUNCTION billrun_series_forward();
CREATE TRIGGER invoice_series_no_delete BEFORE DELETE ON invoice_series
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

-- The number of seq in a series: prefix, seq zero-padded to width, suffix
-- (never cut: a seq longer than width is written in full).
CREATE FUNCTION billrun_invoice_number(p_prefix text, p_seq bigint, p_width int, p_suffix text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT p_prefix
         || CASE WHEN length(p_seq::text) >= p_width THEN p_seq::text ELSE lpad(p_seq::text, p_width, '0') END
         || p_suffix
$$;

-- ---------------------------------------------------------------------
-- Lines. What a line is for, as a key: two lines with the same key bill
-- the same thing, so a later rating of the period is compared with what
-- was billed key by key (the difference is what a supplementary invoice,
-- an adjustment or a credit note carries). chr(31) cannot occur in names.
-- STABLE like concat_ws, so that PostgreSQL inlines it (an IMMUTABLE
-- wrapper of a STABLE function is called row by row: 6x slower).
CREATE FUNCTION billrun_invoice_line_key(p_kind text, p_plan text, p_charge text, p_meter text, p_tax_group text,
                                         p_jurisdiction text, p_tax_rate numeric) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT concat_ws(chr(31), p_kind, coalesce(p_plan, ''), coalesce(p_charge, ''), coalesce(p_meter, ''),
                   coalesce(p_tax_group, ''), coalesce(p_jurisdiction, ''),
                   coalesce(trim_scale(p_tax_rate)::text, ''))
$$;

-- The text a customer reads for a rated line.
CREATE FUNCTION billrun_invoice_line_text(l rated_lines) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE l.kind
    WHEN 'usage' THEN
      l.meter || ' (' || coalesce(l.model, 'usage') || coalesce(', plan ' || l.plan, '') || ')'
      || CASE WHEN l.billable_quantity IS NOT NULL AND l.quantity IS NOT NULL AND l.billable_quantity <> l.quantity
              THEN ', ' || trim_scale(l.quantity - l.billable_quantity) || ' free' ELSE '' END
    WHEN 'recurring' THEN
      coalesce(l.charge, 'fee') || ' (recurring' || coalesce(', plan ' || l.plan, '') || ')'
      || CASE WHEN l.proration_part IS NOT NULL AND l.proration_whole > 0 AND l.proration_part <> l.proration_whole
              THEN ', ' || round(l.proration_part * 100 / l.proration_whole, 2) || '% of the period' ELSE '' END
    WHEN 'minimum' THEN
      coalesce(l.charge, 'minimum') || ' (minimum commitment' || coalesce(', plan ' || l.plan, '') || ')'
    WHEN 'tax' THEN
      coalesce(l.detail ->> 'name', 'Tax') || ' ' || trim_scale(l.tax_rate * 100) || '% on '
      || coalesce(l.tax_base::text, '?') || ' ' || l.currency
      || ' (' || coalesce(l.tax_jurisdiction, '') || coalesce(', ' || nullif(l.tax_group, 'standard'), '') || ')'
    ELSE l.kind END
  || CASE WHEN l.fx_rate IS NOT NULL
          THEN '; ' || l.amount_price_currency || ' ' || l.price_currency
               || CASE WHEN l.fx_inverse THEN ' / ' ELSE ' x ' END || trim_scale(l.fx_rate)
               || ' (rate of ' || l.fx_as_of || ')'
          ELSE '' END
$$;

-- ---------------------------------------------------------------------
-- Drafts: what the invoice step is about to issue. A group (group_no, the
-- rating it comes from) is issued together: a credit note and the invoice
-- that replaces what it credits. ref_invoice_id: the invoice a credit
-- note credits, a supplementary invoice supplements, a new invoice
-- replaces.
CREATE TABLE invoice_drafts (
  id                  bigserial PRIMARY KEY,
  run_id              bigint NOT NULL REFERENCES runs(id),
  group_no            bigint NOT NULL,
  doc                 text NOT NULL CHECK (doc IN ('invoice', 'supplementary', 'credit_note')),
  reason              text CHECK (reason IN ('correction', 'late_usage')),
  account_ext         text NOT NULL,
  account_id          bigint NOT NULL,
  period_local_start  date NOT NULL,
  period_local_end    date NOT NULL,
  rating_id           bigint NOT NULL,
  rule_version        bigint,
  currency            char(3) NOT NULL,
  ref_invoice_id      bigint,
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  CHECK ((doc = 'credit_note') = (reason IS NOT NULL))
);
CREATE INDEX invoice_drafts_order ON invoice_drafts (run_id, account_ext, period_local_start, group_no);

CREATE TABLE invoice_draft_lines (
  draft_id               bigint NOT NULL,   -- invoice_drafts(id), same transaction
  line_no                integer NOT NULL,
  kind                   text NOT NULL CHECK (kind IN ('usage', 'recurring', 'minimum', 'tax')),
  adjustment             boolean NOT NULL DEFAULT false,
  account_ext            text NOT NULL,
  period_local_start     date NOT NULL,
  line_key               text NOT NULL,
  rating_id              bigint NOT NULL,
  rated_line_id          bigint,
  description            text NOT NULL,
  plan                   text,
  charge                 text,
  meter                  text,
  model                  text,
  tax_group              text,
  quantity               numeric,
  billable_quantity      numeric,
  price_currency         char(3),
  amount_price_currency  numeric,
  fx_rate                numeric,
  fx_as_of               date,
  tax_rate               numeric,
  tax_base               numeric,
  tax_jurisdiction       text,
  amount                 numeric NOT NULL,
  PRIMARY KEY (draft_id, line_no)
);

-- ---------------------------------------------------------------------
-- Issued invoices: 'invoice' for a billing period (a first one, or the
-- one replacing a credited one), 'supplementary' for late usage of a
-- period invoiced already. seller and customer are the details printed,
-- as they were when it was issued.
--
-- Foreign keys are kept by construction, not declared: the issuing
-- statement takes every id from rows it reads in the same transaction
-- (runs, accounts, ratings, the locked series row), and a declared key
-- costs a trigger call per row that locks the one runs row it names
-- (measured: half the time of issuing a batch).
CREATE TABLE invoices (
  id                  bigserial PRIMARY KEY,
  run_id              bigint NOT NULL,   -- runs(id)
  draft_id            bigint NOT NULL UNIQUE,
  kind                text NOT NULL CHECK (kind IN ('invoice', 'supplementary')),
  series              text NOT NULL,     -- invoice_series(series)
  seq                 bigint NOT NULL CHECK (seq > 0),
  number              text NOT NULL UNIQUE CHECK (number ~ '^[A-Za-z0-9][A-Za-z0-9._-]*$'),
  account_ext         text NOT NULL,
  account_id          bigint NOT NULL,   -- accounts(id): the version billed
  period_local_start  date NOT NULL,
  period_local_end    date NOT NULL,
  rating_id           bigint NOT NULL UNIQUE,  -- ratings(id)
  rule_version        bigint,            -- rule_versions(id)
  currency            char(3) NOT NULL,
  subtotal            numeric NOT NULL,
  tax_total           numeric NOT NULL,
  total               numeric NOT NULL,
  issue_date          date NOT NULL,
  due_date            date NOT NULL,
  issued_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  supplements         bigint,            -- invoices(id)
  replaces            bigint,            -- invoices(id)
  seller              jsonb NOT NULL,
  customer            jsonb NOT NULL,
  UNIQUE (series, seq),
  CHECK (total = subtotal + tax_total),
  CHECK (due_date >= issue_date),
  CHECK ((kind = 'supplementary') = (supplements IS NOT NULL)),
  CHECK (period_local_end > period_local_start)
);
CREATE INDEX invoices_run ON invoices (run_id);
CREATE INDEX invoices_period ON invoices (account_ext, period_local_start);

-- Lines are tied to their invoice by construction (same transaction); a
-- foreign key would cost a trigger call per line.
CREATE TABLE invoice_lines (
  invoice_id             bigint NOT NULL,   -- invoices(id)
  line_no                integer NOT NULL,
  kind                   text NOT NULL CHECK (kind IN ('usage', 'recurring', 'minimum', 'tax')),
  adjustment             boolean NOT NULL,  -- late usage of an earlier period (late_usage = next_invoice)
  account_ext            text NOT NULL,
  period_local_start     date NOT NULL,     -- the period the line bills
  line_key               text NOT NULL,
  rating_id              bigint NOT NULL,   -- ratings(id): the rating the amount comes from
  rated_line_id          bigint,            -- rated_lines(id) when the line is one; NULL for a difference
  description            text NOT NULL,
  plan                   text,
  charge                 text,
  meter                  text,
  model                  text,
  tax_group              text,
  quantity               numeric,
  billable_quantity      numeric,
  price_currency         char(3),
  amount_price_currency  numeric,
  fx_rate                numeric,
  fx_as_of               date,
  tax_rate               numeric,
  tax_base               numeric,
  tax_jurisdiction       text,
  amount                 numeric NOT NULL,
  PRIMARY KEY (invoice_id, line_no)
);

-- Credit notes: what they credit is positive (the customer's balance goes
-- down by total). 'correction': a dispute rerun changed the period, and a
-- new invoice replaces the credited one; 'late_usage': late usage lowered
-- the period's amount (late_usage = supplementary).
CREATE TABLE credit_notes (
  id                  bigserial PRIMARY KEY,
  run_id              bigint NOT NULL,   -- runs(id)
  draft_id            bigint NOT NULL UNIQUE,
  reason              text NOT NULL CHECK (reason IN ('correction', 'late_usage')),
  series              text NOT NULL,     -- invoice_series(series)
  seq                 bigint NOT NULL CHECK (seq > 0),
  number              text NOT NULL UNIQUE CHECK (number ~ '^[A-Za-z0-9][A-Za-z0-9._-]*$'),
  invoice_id          bigint NOT NULL,   -- invoices(id): the invoice credited
  account_ext         text NOT NULL,
  account_id          bigint NOT NULL,   -- accounts(id)
  period_local_start  date NOT NULL,
  period_local_end    date NOT NULL,
  rating_id           bigint NOT NULL UNIQUE,  -- ratings(id)
  rule_version        bigint,            -- rule_versions(id)
  currency            char(3) NOT NULL,
  subtotal            numeric NOT NULL,
  tax_total           numeric NOT NULL,
  total               numeric NOT NULL,
  issue_date          date NOT NULL,
  issued_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  seller              jsonb NOT NULL,
  customer            jsonb NOT NULL,
  UNIQUE (series, seq),
  CHECK (total = subtotal + tax_total)
);
CREATE INDEX credit_notes_run ON credit_notes (run_id);
CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);
CREATE INDEX credit_notes_period ON credit_notes (account_ext, period_local_start);

CREATE TABLE credit_note_lines (
  credit_note_id         bigint NOT NULL,   -- credit_notes(id)
  line_no                integer NOT NULL,
  kind                   text NOT NULL CHECK (kind IN ('usage', 'recurring', 'minimum', 'tax')),
  adjustment             boolean NOT NULL DEFAULT false,
  account_ext            text NOT NULL,
  period_local_start     date NOT NULL,
  line_key               text NOT NULL,
  rating_id              bigint NOT NULL,
  rated_line_id          bigint,
  description            text NOT NULL,
  plan                   text,
  charge                 text,
  meter                  text,
  model                  text,
  tax_group              text,
  quantity               numeric,
  billable_quantity      numeric,
  price_currency         char(3),
  amount_price_currency  numeric,
  fx_rate                numeric,
  fx_as_of               date,
  tax_rate               numeric,
  tax_base               numeric,
  tax_jurisdiction       text,
  amount                 numeric NOT NULL,  -- credited
  PRIMARY KEY (credit_note_id, line_no)
);

-- What each rating led to. A rating is looked at once: the unique key is
-- what makes a redone or concurrent invoice step issue nothing twice.
CREATE TABLE invoice_reviews (
  rating_id           bigint PRIMARY KEY,  -- ratings(id)
  run_id              bigint NOT NULL,     -- runs(id)
  account_ext         text NOT NULL,
  period_local_start  date NOT NULL,
  outcome             text NOT NULL CHECK (outcome IN ('invoiced', 'supplementary', 'adjusted', 'credited',
                                                       'reissued', 'unchanged', 'empty')),
  invoice_id          bigint,              -- invoices(id)
  credit_note_id      bigint,              -- credit_notes(id)
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX invoice_reviews_run ON invoice_reviews (run_id);

-- Every issued line with its effect on what the customer owes for the
-- period it bills: invoices add, credit notes take off. (A period's lines
-- are found through its account's documents: a period with lines always
-- has an invoice of its own, and late-usage adjustments for it sit on a
-- later invoice of the same account.)
CREATE VIEW invoice_billed_lines AS
  SELECT i.account_ext, l.period_local_start, l.line_key, l.kind, l.plan, l.charge, l.meter, l.model, l.tax_group,
         l.tax_rate, l.tax_jurisdiction, l.description, l.quantity, l.billable_quantity, l.tax_base, l.amount,
         l.rating_id
  FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id
  UNION ALL
  SELECT c.account_ext, l.period_local_start, l.line_key, l.kind, l.plan, l.charge, l.meter, l.model, l.tax_group,
         l.tax_rate, l.tax_jurisdiction, l.description, -l.quantity, -l.billable_quantity, -l.tax_base, -l.amount,
         l.rating_id
  FROM credit_notes c JOIN credit_note_lines l ON l.credit_note_id = c.id;

-- Both kinds of document with one shape, for the commands and renderers.
-- ref: the invoice this one supplements, replaces or credits.
CREATE VIEW invoice_documents AS
  SELECT i.kind AS doc, i.id, i.run_id, i.number, i.series, i.seq, i.account_ext, i.account_id,
         i.period_local_start, i.period_local_end, i.rating_id, i.rule_version, i.currency, i.subtotal,
         i.tax_total, i.total, i.issue_date, i.due_date, i.issued_at,
         coalesce(i.supplements, i.replaces) AS ref_id,
         CASE WHEN i.supplements IS NOT NULL THEN 'supplements' WHEN i.replaces IS NOT NULL THEN 'replaces' END
           AS ref_kind,
         NULL::text AS reason, i.seller, i.customer
  FROM invoices i
  UNION ALL
  SELECT 'credit_note', c.id, c.run_id, c.number, c.series, c.seq, c.account_ext, c.account_id,
         c.period_local_start, c.period_local_end, c.rating_id, c.rule_version, c.currency, c.subtotal,
         c.tax_total, c.total, c.issue_date, NULL, c.issued_at, c.invoice_id, 'credits', c.reason, c.seller,
         c.customer
  FROM credit_notes c;

CREATE VIEW invoice_document_lines AS
  SELECT 'invoice' AS doc_table, l.invoice_id AS document_id, l.line_no, l.kind, l.adjustment, l.account_ext, l.period_local_start, l.line_key, l.rating_id, l.rated_line_id,
         l.description, l.plan, l.charge, l.meter, l.model, l.tax_group, l.quantity, l.billable_quantity,
         l.price_currency, l.amount_price_currency, l.fx_rate, l.fx_as_of, l.tax_rate, l.tax_base, l.tax_jurisdiction,
         l.amount
  FROM invoice_lines l
  UNION ALL
  SELECT 'credit_note', l.credit_note_id, l.line_no, l.kind, l.adjustment, l.account_ext, l.period_local_start, l.line_key, l.rating_id, l.rated_line_id,
         l.description, l.plan, l.charge, l.meter, l.model, l.tax_group, l.quantity, l.billable_quantity,
         l.price_currency, l.amount_price_currency, l.fx_rate, l.fx_as_of, l.tax_rate, l.tax_base, l.tax_jurisdiction,
         l.amount
  FROM credit_note_lines l;

-- ---------------------------------------------------------------------
-- Chargeback and showback: the cost of FOCUS usage per cost centre and
-- billing period, as written to the CSV reports (one row per currency).
CREATE TABLE chargeback_reports (
  id                  bigserial PRIMARY KEY,
  run_id              bigint NOT NULL REFERENCES runs(id),
  cost_centre         text NOT NULL,
  period_local_start  date NOT NULL,
  period_local_end    date NOT NULL,
  currency            text NOT NULL,
  accounts            bigint NOT NULL,
  records             bigint NOT NULL,
  billed_cost         numeric NOT NULL,
  file_name           text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX chargeback_reports_run ON chargeback_reports (run_id);

-- ---------------------------------------------------------------------
CREATE TRIGGER invoices_append_only BEFORE UPDATE OR DELETE ON invoices
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER invoices_no_truncate BEFORE TRUNCATE ON invoices
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER invoice_lines_append_only BEFORE UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER invoice_lines_no_truncate BEFORE TRUNCATE ON invoice_lines
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE ON credit_notes
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER credit_notes_no_truncate BEFORE TRUNCATE ON credit_notes
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER credit_note_lines_append_only BEFORE UPDATE OR DELETE ON credit_note_lines
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER credit_note_lines_no_truncate BEFORE TRUNCATE ON credit_note_lines
  FOR EACH STATEMENT EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER invoice_reviews_append_only BEFORE UPDATE OR DELETE ON invoice_reviews
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();
CREATE TRIGGER chargeback_reports_append_only BEFORE UPDATE OR DELETE ON chargeback_reports
  FOR EACH ROW EXECUTE FUNCTION billrun_forbid_change();

REVOKE ALL ON invoices, invoice_lines, credit_notes, credit_note_lines, invoice_reviews, invoice_series,
  chargeback_reports FROM PUBLIC;
GRANT SELECT, INSERT ON invoices, invoice_lines, credit_notes, credit_note_lines, invoice_reviews,
  chargeback_reports TO billrun_app;
GRANT SELECT, INSERT ON invoice_series TO billrun_app;
GRANT UPDATE (last_seq) ON invoice_series TO billrun_app;
GRANT SELECT, INSERT, DELETE ON invoice_drafts, invoice_draft_lines TO billrun_app;
GRANT SELECT ON invoice_billed_lines, invoice_documents, invoice_document_lines TO billrun_app;
GRANT USAGE ON SEQUENCE invoices_id_seq, credit_notes_id_seq, invoice_drafts_id_seq, chargeback_reports_id_seq
  TO billrun_app;
GRANT SELECT ON invoices, invoice_lines, credit_notes, credit_note_lines, invoice_reviews, invoice_series,
  invoice_drafts, invoice_draft_lines, invoice_billed_lines, invoice_documents, invoice_document_lines,
  chargeback_reports TO billrun_auditor;
