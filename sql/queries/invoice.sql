-- The invoice step (jobs/invoice.c). Three phases, jobs/INVOICES.md says
-- why: drafts are made in one REPEATABLE READ transaction; they are issued
-- in batches, each a READ COMMITTED transaction that holds the series
-- counters' row locks; the documents the run issued are then rendered and
-- the done mark committed.

-- ---------------------------------------------------------------------
-- Drafts

-- name: invoice_drafts_clear
-- Drafts left by an earlier attempt of run $1, or by runs that are over:
-- drafts are recomputed, never resumed.
WITH gone AS (
  SELECT d.id FROM invoice_drafts d JOIN runs r ON r.id = d.run_id
  WHERE d.run_id = $1 OR r.status <> 'running'
), lines AS (
  DELETE FROM invoice_draft_lines WHERE draft_id IN (SELECT id FROM gone)
)
DELETE FROM invoice_drafts WHERE id IN (SELECT id FROM gone)

-- name: invoice_run_facts
-- Is run $1 a rerun (its changes are corrections), and of which account?
-- Read from the run itself, so that a resumed rerun decides the same way.
SELECT rerun_of IS NOT NULL, coalesce(rerun_account, '') FROM runs WHERE id = $1

-- name: invoice_candidates_create
CREATE TEMPORARY TABLE inv_cand (
  rating_id            bigint PRIMARY KEY,
  snapshot_id          bigint NOT NULL,
  account_ext          text NOT NULL,
  account_id           bigint NOT NULL,
  period_local_start   date NOT NULL,
  period_local_end     date NOT NULL,
  currency             char(3) NOT NULL,
  rule_version         bigint,
  lines                bigint NOT NULL,
  billed               boolean NOT NULL,   -- something was issued for the period already
  original_invoice_id  bigint              -- the period's latest (not supplementary) invoice
) ON COMMIT DROP

-- name: invoice_candidates
-- The current ratings the step has to look at: rated (not held by the
-- rate step), closed, past the grace window ($3 ms after the period's
-- local end, counted up to the run's period end $2), not held by a hold
-- (009), and not looked at before. $4: a dispute rerun's account (its
-- periods overlapping the run's period $1 .. $2). Returns how many.
WITH ins AS (
  INSERT INTO inv_cand
  SELECT r.id, r.snapshot_id, r.account_ext, r.account_id, r.period_local_start, r.period_local_end, r.currency,
         r.rule_version,
         (SELECT count(*) FROM rated_lines l WHERE l.rating_id = r.id),
         EXISTS (SELECT 1 FROM invoices i
                 WHERE i.account_ext = r.account_ext AND i.period_local_start = r.period_local_start)
           OR EXISTS (SELECT 1 FROM credit_notes c
                      WHERE c.account_ext = r.account_ext AND c.period_local_start = r.period_local_start),
         (SELECT max(i.id) FROM invoices i
          WHERE i.account_ext = r.account_ext AND i.period_local_start = r.period_local_start AND i.kind = 'invoice')
  FROM ratings_current r
  WHERE r.closed AND r.status = 'rated'
    AND r.period_local_end::timestamp + $3::bigint * interval '1 millisecond' <= $2::date::timestamp
    AND ($4::text IS NULL
         OR (r.account_ext = $4 AND r.period_local_start < $2::date AND r.period_local_end > $1::date))
    AND NOT EXISTS (SELECT 1 FROM invoice_reviews v WHERE v.rating_id = r.id)
    AND NOT billrun_is_held(r.account_ext, r.period_local_start)
  RETURNING 1
)
SELECT count(*) FROM ins

-- name: invoice_waiting_grace
-- Closed, rated periods not invoiced because the grace window ($2 ms) has
-- not passed by the run's period end $1 (for the log).
SELECT count(*) FROM ratings_current r
WHERE r.closed AND r.status = 'rated'
  AND r.period_local_end::timestamp + $2::bigint * interval '1 millisecond' > $1::date::timestamp
  AND r.period_local_end <= $1::date
  AND NOT EXISTS (SELECT 1 FROM invoice_reviews v WHERE v.rating_id = r.id)

-- name: invoice_empty
-- A rating without lines for a period never billed: nothing to invoice.
-- $1 = run.
WITH ins AS (
  INSERT INTO invoice_reviews (rating_id, run_id, account_ext, period_local_start, outcome)
  SELECT c.rating_id, $1, c.account_ext, c.period_local_start, 'empty'
  FROM inv_cand c WHERE c.lines = 0 AND NOT c.billed
  ON CONFLICT (rating_id) DO NOTHING
  RETURNING 1
)
SELECT count(*) FROM ins

-- name: invoice_deltas_create
-- For each candidate of a period billed already: per line key, what the
-- rating says now, what was billed (invoices minus credit notes), and the
-- difference. Descriptive columns come from the current line, else from
-- the billed one.
CREATE TEMPORARY TABLE inv_delta ON COMMIT DROP AS
WITH cur AS (
  SELECT c.rating_id,
         billrun_invoice_line_key(l.kind, l.plan, l.charge, l.meter, l.tax_group, l.tax_jurisdiction, l.tax_rate)
           AS line_key,
         min(l.line_no) AS first_no, min(l.kind) AS kind, min(l.plan) AS plan, min(l.charge) AS charge,
         min(l.meter) AS meter, min(l.model) AS model, min(l.tax_group) AS tax_group, min(l.tax_rate) AS tax_rate,
         min(l.tax_jurisdiction) AS tax_jurisdiction,
         (array_agg(billrun_invoice_line_text(l) ORDER BY l.line_no))[1] AS description,
         sum(l.amount) AS amount, sum(l.quantity) AS quantity, sum(l.billable_quantity) AS billable,
         sum(l.tax_base) AS tax_base
  FROM inv_cand c JOIN rated_lines l ON l.rating_id = c.rating_id
  WHERE c.billed
  GROUP BY 1, 2
), billed AS (
  SELECT c.rating_id, b.line_key, min(b.kind) AS kind, min(b.plan) AS plan, min(b.charge) AS charge,
         min(b.meter) AS meter, min(b.model) AS model, min(b.tax_group) AS tax_group, min(b.tax_rate) AS tax_rate,
         min(b.tax_jurisdiction) AS tax_jurisdiction, min(b.description) AS description,
         sum(b.amount) AS amount, sum(b.quantity) AS quantity, sum(b.billable_quantity) AS billable,
         sum(b.tax_base) AS tax_base
  FROM inv_cand c
  JOIN invoice_billed_lines b ON b.account_ext = c.account_ext AND b.period_local_start = c.period_local_start
  WHERE c.billed
  GROUP BY 1, 2
)
SELECT coalesce(n.rating_id, o.rating_id) AS rating_id, coalesce(n.line_key, o.line_key) AS line_key,
       n.first_no, coalesce(n.kind, o.kind) AS kind, coalesce(n.plan, o.plan) AS plan,
       coalesce(n.charge, o.charge) AS charge, coalesce(n.meter, o.meter) AS meter,
       coalesce(n.model, o.model) AS model, coalesce(n.tax_group, o.tax_group) AS tax_group,
       coalesce(n.tax_rate, o.tax_rate) AS tax_rate,
       coalesce(n.tax_jurisdiction, o.tax_jurisdiction) AS tax_jurisdiction,
       coalesce(n.description, o.description) AS description,
       coalesce(o.amount, 0) AS amount_billed, coalesce(o.quantity, 0) AS quantity_billed,
       coalesce(o.billable, 0) AS billable_billed, coalesce(o.tax_base, 0) AS tax_base_billed,
       coalesce(n.amount, 0) - coalesce(o.amount, 0) AS delta,
       coalesce(n.quantity, 0) - coalesce(o.quantity, 0) AS quantity_delta,
       coalesce(n.billable, 0) - coalesce(o.billable, 0) AS billable_delta,
       coalesce(n.tax_base, 0) - coalesce(o.tax_base, 0) AS tax_base_delta
FROM cur n FULL JOIN billed o ON o.rating_id = n.rating_id AND o.line_key = n.line_key

-- name: invoice_unchanged
-- Billed periods whose new rating changes no amount: nothing to issue.
-- $1 = run.
WITH ins AS (
  INSERT INTO invoice_reviews (rating_id, run_id, account_ext, period_local_start, outcome)
  SELECT c.rating_id, $1, c.account_ext, c.period_local_start, 'unchanged'
  FROM inv_cand c
  WHERE c.billed AND NOT EXISTS (SELECT 1 FROM inv_delta x WHERE x.rating_id = c.rating_id AND x.delta <> 0)
  ON CONFLICT (rating_id) DO NOTHING
  RETURNING 1
)
SELECT count(*) FROM ins

-- name: invoice_draft_headers
-- The drafts of run $1. An invoice draft bills its rating's lines as they
-- are (they are not copied: rated lines never change), plus any adjustment
-- lines of its own; other drafts hold their lines in invoice_draft_lines.
-- A period never billed gets an invoice. A billed
-- period whose amounts changed gets, in a dispute rerun ($2 true), a
-- credit note for all that was billed and a new invoice for the rating;
-- otherwise (late usage) with $3 = 'supplementary' a supplementary
-- invoice for the difference, or a credit note when the difference is
-- below zero, and nothing here when the difference totals 0 (it only moves
-- money between lines: invoice_late_create); with 'next_invoice' nothing
-- here (invoice_late_create, invoice_draft_adjustments).
-- Returns the number of drafts by kind.
WITH changed AS (
  SELECT rating_id, sum(delta) AS delta FROM inv_delta GROUP BY rating_id HAVING bool_or(delta <> 0)
), docs AS (
  SELECT c.*, 'invoice'::text AS doc, NULL::text AS reason, NULL::bigint AS ref, 2 AS ord
  FROM inv_cand c WHERE NOT c.billed AND c.lines > 0
  UNION ALL
  SELECT c.*, 'credit_note', 'correction', c.original_invoice_id, 1
  FROM inv_cand c JOIN changed x USING (rating_id) WHERE $2::boolean
  UNION ALL
  SELECT c.*, 'invoice', NULL, c.original_invoice_id, 2
  FROM inv_cand c JOIN changed x USING (rating_id) WHERE $2::boolean AND c.lines > 0
  UNION ALL
  SELECT c.*, CASE WHEN x.delta >= 0 THEN 'supplementary' ELSE 'credit_note' END,
         CASE WHEN x.delta < 0 THEN 'late_usage' END, c.original_invoice_id, 1
  FROM inv_cand c JOIN changed x USING (rating_id) WHERE NOT $2::boolean AND $3 = 'supplementary' AND x.delta <> 0
), ins AS (
  INSERT INTO invoice_drafts (run_id, group_no, doc, reason, account_ext, account_id, period_local_start,
                              period_local_end, rating_id, rule_version, currency, ref_invoice_id)
  SELECT $1, d.rating_id, d.doc, d.reason, d.account_ext, d.account_id, d.period_local_start, d.period_local_end,
         d.rating_id, d.rule_version, d.currency, d.ref
  FROM docs d
  ORDER BY d.account_ext, d.period_local_start, d.ord
  RETURNING doc, ref_invoice_id
)
SELECT count(*) FILTER (WHERE doc = 'invoice' AND ref_invoice_id IS NULL),
       count(*) FILTER (WHERE doc = 'invoice' AND ref_invoice_id IS NOT NULL),
       count(*) FILTER (WHERE doc = 'supplementary'),
       count(*) FILTER (WHERE doc = 'credit_note')
FROM ins

-- name: invoice_draft_lines_delta
-- Supplementary invoices bill the difference; a credit note for late
-- usage credits the (negative) difference; a correction's credit note
-- credits everything billed for the period. Charges first, then taxes.
-- Run after every draft of run $1 is made (invoice_draft_late_credits).
INSERT INTO invoice_draft_lines (draft_id, line_no, kind, adjustment, account_ext, period_local_start, line_key,
                                 rating_id, description, plan, charge, meter, model, tax_group, quantity,
                                 billable_quantity, tax_rate, tax_base, tax_jurisdiction, amount)
SELECT d.id,
       row_number() OVER (PARTITION BY d.id ORDER BY x.kind = 'tax', x.first_no NULLS LAST, x.line_key),
       x.kind, false, d.account_ext, d.period_local_start, x.line_key, d.rating_id,
       CASE WHEN d.doc = 'supplementary' THEN 'late usage: ' || x.description
            WHEN d.reason = 'late_usage' THEN 'late usage, less: ' || x.description
            ELSE x.description END,
       x.plan, x.charge, x.meter, x.model, x.tax_group, v.quantity, v.billable, x.tax_rate, v.tax_base,
       x.tax_jurisdiction, v.amount
FROM invoice_drafts d
JOIN inv_delta x ON x.rating_id = d.rating_id
CROSS JOIN LATERAL (
  SELECT CASE WHEN d.doc = 'supplementary' THEN x.delta WHEN d.reason = 'late_usage' THEN -x.delta
              ELSE x.amount_billed END AS amount,
         CASE WHEN d.doc = 'supplementary' THEN x.quantity_delta WHEN d.reason = 'late_usage' THEN -x.quantity_delta
              ELSE x.quantity_billed END AS quantity,
         CASE WHEN d.doc = 'supplementary' THEN x.billable_delta WHEN d.reason = 'late_usage' THEN -x.billable_delta
              ELSE x.billable_billed END AS billable,
         CASE WHEN d.doc = 'supplementary' THEN x.tax_base_delta WHEN d.reason = 'late_usage' THEN -x.tax_base_delta
              ELSE x.tax_base_billed END AS tax_base
) v
WHERE d.run_id = $1 AND d.doc IN ('supplementary', 'credit_note')
  AND (v.amount <> 0 OR (d.reason = 'correction' AND coalesce(v.quantity, 0) <> 0))

-- name: invoice_late_create
-- Late ratings of run $1 that go on a new invoice as adjustment lines:
-- with $2 = 'next_invoice' every late rating that changed an amount; with
-- 'supplementary' those whose difference totals 0 (usage up, the minimum's
-- true-up down by as much: no supplementary invoice of 0.00, jobs/INVOICES.md
-- says why). Each with the account's first new invoice drafted by the run
-- for a later period in the same currency (NULL: it waits for one), its
-- total difference, and whether it is placed there: an invoice is never
-- issued below zero, so when the invoice's own total plus all the
-- differences placed on it would be below zero, the late ratings that
-- lower it are not placed but credited, each by a credit note of its own
-- (invoice_draft_late_credits).
CREATE TEMPORARY TABLE inv_late ON COMMIT DROP AS
WITH changed AS (
  SELECT c.rating_id, c.account_ext, c.period_local_start, c.currency, sum(x.delta) AS delta
  FROM inv_cand c JOIN inv_delta x ON x.rating_id = c.rating_id
  WHERE c.billed
  GROUP BY c.rating_id, c.account_ext, c.period_local_start, c.currency
  HAVING bool_or(x.delta <> 0) AND ($2 = 'next_invoice' OR sum(x.delta) = 0)
), target AS (
  SELECT DISTINCT ON (l.rating_id) l.rating_id, d.id AS draft_id, r.total AS draft_total
  FROM changed l
  JOIN invoice_drafts d ON d.run_id = $1 AND d.doc = 'invoice' AND d.ref_invoice_id IS NULL
                       AND d.account_ext = l.account_ext AND d.currency = l.currency
                       AND d.period_local_start > l.period_local_start
  JOIN ratings r ON r.id = d.rating_id
  ORDER BY l.rating_id, d.period_local_start
)
SELECT l.*, t.draft_id,
       t.draft_id IS NOT NULL
         AND (l.delta >= 0 OR t.draft_total + sum(l.delta) OVER (PARTITION BY t.draft_id) >= 0) AS placed
FROM changed l LEFT JOIN target t USING (rating_id)

-- name: invoice_draft_adjustments
-- The differences of the late ratings placed (inv_late) go on their
-- invoice drafts as adjustment lines after the invoice's own. Returns the
-- late ratings placed and those still waiting for such an invoice.
WITH base AS (
  SELECT d.id AS draft_id, max(l.line_no) AS n
  FROM invoice_drafts d JOIN rated_lines l ON l.rating_id = d.rating_id
  WHERE d.id IN (SELECT draft_id FROM inv_late WHERE placed) GROUP BY d.id
), ins AS (
  INSERT INTO invoice_draft_lines (draft_id, line_no, kind, adjustment, account_ext, period_local_start, line_key,
                                   rating_id, description, plan, charge, meter, model, tax_group, quantity,
                                   billable_quantity, tax_rate, tax_base, tax_jurisdiction, amount)
  SELECT t.draft_id,
         b.n + row_number() OVER (PARTITION BY t.draft_id
                                  ORDER BY t.period_local_start, t.rating_id, x.kind = 'tax', x.first_no NULLS LAST,
                                           x.line_key),
         x.kind, true, t.account_ext, t.period_local_start, x.line_key, t.rating_id,
         'adjustment for ' || t.period_local_start || ' (late usage): ' || x.description,
         x.plan, x.charge, x.meter, x.model, x.tax_group, x.quantity_delta, x.billable_delta, x.tax_rate,
         x.tax_base_delta, x.tax_jurisdiction, x.delta
  FROM inv_late t
  JOIN base b ON b.draft_id = t.draft_id
  JOIN inv_delta x ON x.rating_id = t.rating_id AND x.delta <> 0
  WHERE t.placed
  RETURNING rating_id
)
SELECT (SELECT count(DISTINCT rating_id) FROM ins), (SELECT count(*) FROM inv_late WHERE draft_id IS NULL)

-- name: invoice_draft_late_credits
-- Late ratings that would take their invoice below zero (inv_late: a
-- target, not placed) are credited instead: a credit note (reason
-- late_usage) for the late period, referring to its invoice, as in
-- late_usage = supplementary. $1 = run. Returns how many.
WITH ins AS (
  INSERT INTO invoice_drafts (run_id, group_no, doc, reason, account_ext, account_id, period_local_start,
                              period_local_end, rating_id, rule_version, currency, ref_invoice_id)
  SELECT $1, c.rating_id, 'credit_note', 'late_usage', c.account_ext, c.account_id, c.period_local_start,
         c.period_local_end, c.rating_id, c.rule_version, c.currency, c.original_invoice_id
  FROM inv_late t JOIN inv_cand c USING (rating_id)
  WHERE t.draft_id IS NOT NULL AND NOT t.placed
  ORDER BY c.account_ext, c.period_local_start
  RETURNING 1
)
SELECT count(*) FROM ins

-- name: invoice_drafts_prune
-- Credit notes and supplementary invoices of run $1 that ended up without
-- a line are not issued (an invoice draft always has its rating's lines).
DELETE FROM invoice_drafts d
WHERE d.run_id = $1 AND d.doc <> 'invoice'
  AND NOT EXISTS (SELECT 1 FROM invoice_draft_lines l WHERE l.draft_id = d.id)

-- name: invoice_drafts_pending
SELECT count(*) FROM invoice_drafts WHERE run_id = $1

-- ---------------------------------------------------------------------
-- Issuing, one batch per transaction

-- name: invoice_issue_today
-- The issue date: today in UTC, as the transaction sees it.
SELECT to_char((now() AT TIME ZONE 'UTC')::date, 'YYYY-MM-DD')

-- name: invoice_series_ensure
-- The counter rows of the series $1 (invoices) and $2 (credit notes).
INSERT INTO invoice_series (series, doc)
SELECT v.series, v.doc FROM (VALUES ($1::text, 'invoice'), ($2::text, 'credit_note')) AS v(series, doc)
ORDER BY v.series
ON CONFLICT (series) DO NOTHING

-- name: invoice_series_lock
-- Lock both counters, always in the same order: issuers wait here for one
-- another, so numbers go out in commit order. Returns doc, series, last.
SELECT doc, series, last_seq FROM invoice_series WHERE series IN ($1, $2) ORDER BY series FOR UPDATE

-- name: invoice_batch_create
-- The next groups of run $1's drafts (about $2 drafts), in account and
-- period order; a group is never split.
CREATE TEMPORARY TABLE inv_batch ON COMMIT DROP AS
SELECT d.* FROM invoice_drafts d
WHERE d.run_id = $1
  AND d.group_no IN (SELECT g.group_no FROM invoice_drafts g WHERE g.run_id = $1
                     ORDER BY g.account_ext, g.period_local_start, g.group_no LIMIT $2)

-- name: invoice_batch_stale
-- Groups that may no longer be issued: a rating they come from was looked
-- at since (by another run), a newer rating of its period exists, or the
-- period is held now. Their drafts are dropped; a later run drafts again.
-- Returns the drafts dropped.
WITH refs AS (
  SELECT b.group_no, b.rating_id FROM inv_batch b
  UNION
  SELECT b.group_no, l.rating_id FROM inv_batch b JOIN invoice_draft_lines l ON l.draft_id = b.id
  WHERE l.adjustment
), bad AS (
  SELECT DISTINCT f.group_no FROM refs f JOIN ratings g ON g.id = f.rating_id
  WHERE EXISTS (SELECT 1 FROM invoice_reviews v WHERE v.rating_id = f.rating_id)
     OR EXISTS (SELECT 1 FROM ratings n
                WHERE n.account_ext = g.account_ext AND n.period_local_start = g.period_local_start
                  AND (n.snapshot_id, n.id) > (g.snapshot_id, g.id))
     OR billrun_is_held(g.account_ext, g.period_local_start)
), gone AS (
  DELETE FROM inv_batch b USING bad WHERE b.group_no = bad.group_no RETURNING b.id
), lines AS (
  DELETE FROM invoice_draft_lines WHERE draft_id IN (SELECT id FROM gone)
), drafts AS (
  DELETE FROM invoice_drafts WHERE id IN (SELECT id FROM gone) RETURNING 1
)
SELECT count(*) FROM drafts

-- name: invoice_batch_count
-- Invoices and credit notes in the batch.
SELECT count(*) FILTER (WHERE doc <> 'credit_note'), count(*) FILTER (WHERE doc = 'credit_note') FROM inv_batch

-- name: invoice_seller
-- The seller object stored with every document (jobs/INVOICES.md, "The
-- parties"): $1 name, $2 address (printed lines separated by newlines;
-- '' = street, postcode and city, country), $3 VAT id, $4 email, $5
-- payment details, $6 street, $7 city, $8 postcode, $9 country (ISO
-- 3166-1 alpha-2), $10 company (registration) id, $11 contact name, $12
-- phone, $13 electronic address SCHEME:ID, $14 IBAN, $15 BIC.
SELECT jsonb_build_object(
         'name', $1::text,
         'address', to_jsonb(nullif(coalesce(string_to_array(nullif($2::text, ''), E'\n'),
                                             array_remove(ARRAY[nullif($6::text, ''),
                                                                nullif(btrim($8::text || ' ' || $7::text), ''),
                                                                nullif($9::text, '')], NULL)), '{}')),
         'vat_id', $3::text, 'email', $4::text, 'payment', $5::text, 'street', $6::text, 'city', $7::text,
         'postcode', $8::text, 'country', $9::text, 'company_id', $10::text, 'contact', $11::text,
         'phone', $12::text, 'endpoint', $13::text, 'iban', $14::text, 'bic', $15::text)::text

-- name: invoice_issue_invoices
-- Number and issue the batch's invoices: $1 run, $2 series, $3 number
-- prefix, $4 width, $5 suffix, $6 issue date, $7 payment terms (days),
-- $8 the seller object (invoice_seller). The counter moves to the last number
-- given. Returns the drafts, the invoices inserted, the counter before
-- and after (the caller checks that after = before + inserted = drafts).
WITH docs AS (
  SELECT b.*, row_number() OVER (ORDER BY b.account_ext, b.period_local_start, b.group_no, b.id) AS n
  FROM inv_batch b WHERE b.doc <> 'credit_note'
), base AS (
  SELECT last_seq FROM invoice_series WHERE series = $2
), lines AS (
  SELECT d.id AS draft_id, l.kind, l.amount FROM docs d JOIN rated_lines l ON l.rating_id = d.rating_id
  WHERE d.doc = 'invoice'
  UNION ALL
  SELECT l.draft_id, l.kind, l.amount FROM invoice_draft_lines l WHERE l.draft_id IN (SELECT id FROM docs)
), sums AS (
  SELECT l.draft_id, coalesce(sum(l.amount) FILTER (WHERE l.kind <> 'tax'), 0) AS subtotal,
         coalesce(sum(l.amount) FILTER (WHERE l.kind = 'tax'), 0) AS tax_total
  FROM lines l GROUP BY l.draft_id
), ins AS (
  INSERT INTO invoices (run_id, draft_id, kind, series, seq, number, account_ext, account_id, period_local_start,
                        period_local_end, rating_id, rule_version, currency, subtotal, tax_total, total,
                        issue_date, due_date, supplements, replaces, seller, customer)
  SELECT $1, d.id, d.doc, $2, b.last_seq + d.n, billrun_invoice_number($3, b.last_seq + d.n, $4::int, $5),
         d.account_ext, d.account_id, d.period_local_start, d.period_local_end, d.rating_id, d.rule_version,
         d.currency, coalesce(s.subtotal, 0), coalesce(s.tax_total, 0),
         coalesce(s.subtotal, 0) + coalesce(s.tax_total, 0), $6::date, $6::date + $7::int,
         CASE WHEN d.doc = 'supplementary' THEN d.ref_invoice_id END,
         CASE WHEN d.doc = 'invoice' THEN d.ref_invoice_id END,
         $8::jsonb,
         billrun_invoice_customer(a)
  FROM docs d CROSS JOIN base b LEFT JOIN sums s ON s.draft_id = d.id LEFT JOIN accounts a ON a.id = d.account_id
  RETURNING seq
), upd AS (
  UPDATE invoice_series s SET last_seq = (SELECT max(seq) FROM ins)
  WHERE s.series = $2 AND EXISTS (SELECT 1 FROM ins)
  RETURNING last_seq
)
SELECT (SELECT count(*) FROM docs), (SELECT count(*) FROM ins), (SELECT last_seq FROM base),
       coalesce((SELECT last_seq FROM upd), (SELECT last_seq FROM base))

-- name: invoice_issue_credit_notes
-- The same for the batch's credit notes ($1..$5, $6 issue date, $7 the
-- seller object).
WITH docs AS (
  SELECT b.*, row_number() OVER (ORDER BY b.account_ext, b.period_local_start, b.group_no, b.id) AS n
  FROM inv_batch b WHERE b.doc = 'credit_note'
), base AS (
  SELECT last_seq FROM invoice_series WHERE series = $2
), sums AS (
  SELECT l.draft_id, coalesce(sum(l.amount) FILTER (WHERE l.kind <> 'tax'), 0) AS subtotal,
         coalesce(sum(l.amount) FILTER (WHERE l.kind = 'tax'), 0) AS tax_total
  FROM invoice_draft_lines l WHERE l.draft_id IN (SELECT id FROM docs) GROUP BY l.draft_id
), ins AS (
  INSERT INTO credit_notes (run_id, draft_id, reason, series, seq, number, invoice_id, account_ext, account_id,
                            period_local_start, period_local_end, rating_id, rule_version, currency, subtotal,
                            tax_total, total, issue_date, seller, customer)
  SELECT $1, d.id, d.reason, $2, b.last_seq + d.n, billrun_invoice_number($3, b.last_seq + d.n, $4::int, $5),
         d.ref_invoice_id, d.account_ext, d.account_id, d.period_local_start, d.period_local_end, d.rating_id,
         d.rule_version, d.currency, coalesce(s.subtotal, 0), coalesce(s.tax_total, 0),
         coalesce(s.subtotal, 0) + coalesce(s.tax_total, 0), $6::date,
         $7::jsonb,
         billrun_invoice_customer(a)
  FROM docs d CROSS JOIN base b LEFT JOIN sums s ON s.draft_id = d.id LEFT JOIN accounts a ON a.id = d.account_id
  RETURNING seq
), upd AS (
  UPDATE invoice_series s SET last_seq = (SELECT max(seq) FROM ins)
  WHERE s.series = $2 AND EXISTS (SELECT 1 FROM ins)
  RETURNING last_seq
)
SELECT (SELECT count(*) FROM docs), (SELECT count(*) FROM ins), (SELECT last_seq FROM base),
       coalesce((SELECT last_seq FROM upd), (SELECT last_seq FROM base))

-- name: invoice_issue_invoice_lines
-- An invoice draft's rating's lines, then the lines drafted for it.
INSERT INTO invoice_lines (invoice_id, line_no, kind, adjustment, account_ext, period_local_start, line_key,
                           rating_id, rated_line_id, description, plan, charge, meter, model, tax_group, quantity,
                           billable_quantity, price_currency, amount_price_currency, fx_rate, fx_as_of, tax_rate,
                           tax_base, tax_jurisdiction, amount)
SELECT i.id, l.line_no, l.kind, false, l.account_ext, l.period_local_start,
       billrun_invoice_line_key(l.kind, l.plan, l.charge, l.meter, l.tax_group, l.tax_jurisdiction, l.tax_rate),
       l.rating_id, l.id, billrun_invoice_line_text(l), l.plan, l.charge, l.meter, l.model, l.tax_group,
       l.quantity, l.billable_quantity, l.price_currency, l.amount_price_currency, l.fx_rate, l.fx_as_of,
       l.tax_rate, l.tax_base, l.tax_jurisdiction, l.amount
FROM inv_batch b
JOIN invoices i ON i.draft_id = b.id
JOIN rated_lines l ON l.rating_id = b.rating_id
WHERE b.doc = 'invoice'
UNION ALL
SELECT i.id, l.line_no, l.kind, l.adjustment, l.account_ext, l.period_local_start, l.line_key, l.rating_id,
       l.rated_line_id, l.description, l.plan, l.charge, l.meter, l.model, l.tax_group, l.quantity,
       l.billable_quantity, l.price_currency, l.amount_price_currency, l.fx_rate, l.fx_as_of, l.tax_rate,
       l.tax_base, l.tax_jurisdiction, l.amount
FROM inv_batch b
JOIN invoices i ON i.draft_id = b.id
JOIN invoice_draft_lines l ON l.draft_id = b.id

-- name: invoice_issue_credit_note_lines
INSERT INTO credit_note_lines (credit_note_id, line_no, kind, adjustment, account_ext, period_local_start,
                               line_key, rating_id, rated_line_id, description, plan, charge, meter, model,
                               tax_group, quantity, billable_quantity, price_currency, amount_price_currency,
                               fx_rate, fx_as_of, tax_rate, tax_base, tax_jurisdiction, amount)
SELECT c.id, l.line_no, l.kind, l.adjustment, l.account_ext, l.period_local_start, l.line_key, l.rating_id,
       l.rated_line_id, l.description, l.plan, l.charge, l.meter, l.model, l.tax_group, l.quantity,
       l.billable_quantity, l.price_currency, l.amount_price_currency, l.fx_rate, l.fx_as_of, l.tax_rate,
       l.tax_base, l.tax_jurisdiction, l.amount
FROM inv_batch b
JOIN credit_notes c ON c.draft_id = b.id
JOIN invoice_draft_lines l ON l.draft_id = b.id

-- name: invoice_issue_reviews
-- What each rating of the batch led to ($1 = run): its own group's
-- documents, and the late ratings adjusted on an invoice.
INSERT INTO invoice_reviews (rating_id, run_id, account_ext, period_local_start, outcome, invoice_id, credit_note_id)
SELECT g.rating_id, $1::bigint, g.account_ext, g.period_local_start,
       CASE WHEN i.id IS NOT NULL AND c.id IS NOT NULL THEN 'reissued'
            WHEN i.kind = 'supplementary' THEN 'supplementary'
            WHEN i.id IS NOT NULL THEN 'invoiced'
            ELSE 'credited' END,
       i.id, c.id
FROM (SELECT DISTINCT group_no, rating_id, account_ext, period_local_start FROM inv_batch) g
LEFT JOIN (SELECT b.group_no, x.id, x.kind FROM inv_batch b JOIN invoices x ON x.draft_id = b.id) i
  ON i.group_no = g.group_no
LEFT JOIN (SELECT b.group_no, x.id FROM inv_batch b JOIN credit_notes x ON x.draft_id = b.id) c
  ON c.group_no = g.group_no
UNION ALL
SELECT a.rating_id, $1::bigint, a.account_ext, a.period_local_start, 'adjusted', a.invoice_id, NULL::bigint
FROM (SELECT DISTINCT ON (l.rating_id) l.rating_id, l.account_ext, l.period_local_start, i.id AS invoice_id
      FROM inv_batch b JOIN invoices i ON i.draft_id = b.id JOIN invoice_draft_lines l ON l.draft_id = b.id
      WHERE l.adjustment
      ORDER BY l.rating_id, i.id) a

-- name: invoice_audit_available
SELECT to_regprocedure('billrun_audit(text,text,jsonb)') IS NOT NULL

-- name: invoice_issue_audit
-- One audit entry per batch (per document would cost a chain step per
-- invoice): every document issued, credit notes first, in number order,
-- with its total and the SHA-256 of its content (number, account, period,
-- currency, totals, then each line's number, key, quantity and amount), so
-- that a change to any issued document shows. $1 = run.
WITH inv AS (
  SELECT i.* FROM inv_batch b JOIN invoices i ON i.draft_id = b.id
), cn AS (
  SELECT c.*, o.number AS credits FROM inv_batch b JOIN credit_notes c ON c.draft_id = b.id
  JOIN invoices o ON o.id = c.invoice_id
), inv_body AS (
  SELECT l.invoice_id AS id,
         string_agg(concat_ws('|', l.line_no, l.line_key, l.quantity, l.amount), E'\n' ORDER BY l.line_no) AS body
  FROM invoice_lines l WHERE l.invoice_id IN (SELECT id FROM inv) GROUP BY l.invoice_id
), cn_body AS (
  SELECT l.credit_note_id AS id,
         string_agg(concat_ws('|', l.line_no, l.line_key, l.quantity, l.amount), E'\n' ORDER BY l.line_no) AS body
  FROM credit_note_lines l WHERE l.credit_note_id IN (SELECT id FROM cn) GROUP BY l.credit_note_id
), docs AS (
  SELECT 0 AS ord, c.seq, c.number, c.currency, c.total,
         concat_ws('|', c.number, 'credits:' || c.credits, c.account_ext, c.period_local_start, c.currency,
                   c.subtotal, c.tax_total, c.total) || E'\n' || coalesce(b.body, '') AS content
  FROM cn c LEFT JOIN cn_body b ON b.id = c.id
  UNION ALL
  SELECT 1, i.seq, i.number, i.currency, i.total,
         concat_ws('|', i.number, i.kind, i.account_ext, i.period_local_start, i.currency, i.subtotal, i.tax_total,
                   i.total, i.issue_date, i.due_date) || E'\n' || coalesce(b.body, '')
  FROM inv i LEFT JOIN inv_body b ON b.id = i.id
)
SELECT billrun_audit('invoice.issued', 'invoices/' || min(number) || '..' || max(number),
                     jsonb_build_object('run', $1::bigint, 'count', count(*),
                                        'documents', jsonb_agg(jsonb_build_array(number, currency, total::text,
                                                                                 encode(sha256(convert_to(content, 'UTF8')), 'hex'))
                                                               ORDER BY ord, seq)))
FROM docs
HAVING count(*) > 0

-- name: invoice_batch_done
-- The issued drafts are gone.
WITH lines AS (
  DELETE FROM invoice_draft_lines WHERE draft_id IN (SELECT id FROM inv_batch)
)
DELETE FROM invoice_drafts WHERE id IN (SELECT id FROM inv_batch)
