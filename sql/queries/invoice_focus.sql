-- The FOCUS 1.1 billing export of issued documents (jobs/invoice_focus.c,
-- reports/focus_csv.c; reports/FOCUS.md says why each column holds what
-- it does).

-- name: invoice_focus_rows
-- One row per line of the documents $2 (an array of ids) of kind $1
-- ('invoice': invoices and supplementary invoices, or 'credit_note'), in
-- document and line order: the document's id, then the export's columns
-- under their FOCUS names, in the order of focus_columns[]
-- (reports/focus_csv.c checks the names), as text, NULL for null.
--
-- * Costs: BilledCost is the line's amount as issued, with the sign of
--   its effect on what the customer owes: a credit note's lines are
--   negative (the credit note's total is what it takes off), so a
--   document's BilledCost adds up to its total, a credit note's to minus
--   its total. billrun has no discounts or amortisation: list,
--   contracted and effective cost are the billed cost.
-- * Periods: the billing period is the document's (the rating it
--   bills), the charge period the line's (a late-usage adjustment bills
--   an earlier period). Both are the UTC instants the aggregate step
--   computed from the account's time zone for the rating's snapshot
--   (billing_periods(), 005: local midnight of the anchor day), so a
--   zone's clock change and a change of time zone are as billed.
-- * Corrections (ChargeClass 'Correction'): every line of a credit note
--   or a supplementary invoice, and adjustment lines (late usage of an
--   earlier period on a later invoice). An invoice that replaces a
--   credited one bills the period anew: not a correction.
-- * Kinds: usage -> Usage (Usage-Based); recurring fee -> Purchase
--   (Recurring); minimum commitment true-up -> Adjustment (Recurring);
--   tax -> Tax (Recurring), with the columns FOCUS wants null for tax
--   null.
-- * SKUs: the rate card is the price list. SkuId is the plan's charge
--   (PLAN:METER, PLAN:CHARGE); SkuPriceId the price it had: the plan
--   version's first day and the rule version (the first 12 hex digits of
--   its SHA-256), "pro:voice_seconds@2024-01-01/9f86d081884c", or the
--   SkuId on a difference line (no rated line behind it: a correction).
-- * A usage line of a meter that was not used (quantity 0, amount 0) is
--   no row: FOCUS records usage-based charges only when the service was
--   used (ChargeFrequency) and wants a positive ConsumedQuantity on a
--   Usage row. It adds nothing to the total; its line number is missing
--   from x_InvoiceLine. Corrections keep every line.
WITH doc AS (
  SELECT d.id, d.doc, d.number, d.account_ext, d.currency, d.seller, d.customer, s.period_start, s.period_end
  FROM invoice_documents d
  JOIN ratings r ON r.id = d.rating_id
  JOIN agg_snapshots s ON s.id = r.snapshot_id
  WHERE (d.doc = 'credit_note') = ($1 = 'credit_note') AND d.id = ANY ($2::bigint[])
), doc_lines AS MATERIALIZED (
  -- The documents' lines first, by their key: joined after the ratings
  -- and rated lines, the planner read every line of every document for
  -- each batch (a 100,000-invoice close spent 3 minutes here).
  SELECT l.*
  FROM invoice_document_lines l
  WHERE l.doc_table = $1 AND l.document_id = ANY ($2::bigint[])
), line AS (
  SELECT doc.*, l.line_no, l.kind, l.description, l.plan, l.charge, l.meter, l.tax_group, l.period_local_start,
         CASE WHEN doc.doc = 'credit_note' THEN -1 ELSE 1 END AS sign,
         doc.doc <> 'invoice' OR l.adjustment AS correction,
         CASE WHEN doc.doc = 'credit_note' THEN -l.amount ELSE l.amount END AS cost,
         trim_scale(l.quantity) AS quantity, trim_scale(coalesce(l.billable_quantity, l.quantity)) AS billable,
         coalesce(nullif(m.unit, ''), 'Units') AS unit,
         CASE WHEN l.kind <> 'tax' THEN concat_ws(':', l.plan, coalesce(l.meter, l.charge, l.kind)) END AS sku,
         rl.plan_effective_from, left(v.sha256, 12) AS rule_sha,
         ls.period_start AS charge_start, ls.period_end AS charge_end
  FROM doc
  JOIN doc_lines l ON l.document_id = doc.id
  JOIN ratings lr ON lr.id = l.rating_id
  JOIN agg_snapshots ls ON ls.id = lr.snapshot_id
  LEFT JOIN rated_lines rl ON rl.id = l.rated_line_id
  LEFT JOIN rule_versions v ON v.id = rl.rule_version
  LEFT JOIN meters m ON m.name = l.meter
)
SELECT line.id,
       line.cost::text AS "BilledCost",
       line.account_ext AS "BillingAccountId",
       nullif(line.customer ->> 'name', '') AS "BillingAccountName",
       line.currency::text AS "BillingCurrency",
       to_char(line.period_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "BillingPeriodEnd",
       to_char(line.period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "BillingPeriodStart",
       CASE line.kind WHEN 'usage' THEN 'Usage' WHEN 'recurring' THEN 'Purchase' WHEN 'minimum' THEN 'Adjustment'
                      ELSE 'Tax' END AS "ChargeCategory",
       CASE WHEN line.correction THEN 'Correction' END AS "ChargeClass",
       line.description AS "ChargeDescription",
       CASE line.kind WHEN 'usage' THEN 'Usage-Based' ELSE 'Recurring' END AS "ChargeFrequency",
       to_char(line.charge_end AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "ChargePeriodEnd",
       to_char(line.charge_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS "ChargePeriodStart",
       CASE WHEN line.kind = 'usage' THEN (line.sign * line.quantity)::text END AS "ConsumedQuantity",
       CASE WHEN line.kind = 'usage' THEN line.unit END AS "ConsumedUnit",
       line.cost::text AS "ContractedCost",
       line.cost::text AS "EffectiveCost",
       coalesce(line.seller ->> 'name', '') AS "InvoiceIssuerName",
       line.cost::text AS "ListCost",
       CASE WHEN line.kind <> 'tax' THEN 'Standard' END AS "PricingCategory",
       CASE line.kind WHEN 'usage' THEN (line.sign * line.billable)::text WHEN 'recurring' THEN line.sign::text
            END AS "PricingQuantity",
       CASE line.kind WHEN 'usage' THEN line.unit WHEN 'recurring' THEN 'Subscriptions' END AS "PricingUnit",
       coalesce(line.seller ->> 'name', '') AS "ProviderName",
       coalesce(line.seller ->> 'name', '') AS "PublisherName",
       'Other' AS "ServiceCategory",
       coalesce(line.plan,
                (SELECT string_agg(DISTINCT o.plan, ', ' ORDER BY o.plan) FROM invoice_document_lines o
                 WHERE o.doc_table = $1 AND o.document_id = line.id AND o.kind <> 'tax'
                   AND o.period_local_start = line.period_local_start
                   AND o.tax_group IS NOT DISTINCT FROM line.tax_group),
                'Tax') AS "ServiceName",
       line.sku AS "SkuId",
       coalesce(line.sku || '@' || line.plan_effective_from || coalesce('/' || line.rule_sha, ''), line.sku)
         AS "SkuPriceId",
       line.number AS "x_InvoiceId",
       line.line_no::text AS "x_InvoiceLine",
       line.doc AS "x_DocumentType"
FROM line
WHERE line.correction OR line.kind <> 'usage' OR line.quantity <> 0 OR line.cost <> 0
ORDER BY line.id, line.line_no
