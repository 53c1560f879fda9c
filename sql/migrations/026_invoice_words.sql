-- 026: the customer's words on invoice lines (issue 19). A charge's line is
-- described by its label from the rate card (the charge's `label`, else
-- its meter's), which the rating keeps in rated_lines.detail ->> 'label'
-- with the unit and show_zero (jobs/rate.c; jobs/RATING.md, "Words on the
-- invoice"). The model and the plan id are billrun's names, not the
-- customer's: they stay in the line's plan, charge and model columns and
-- leave the text. Without a label (rate cards and ratings from before
-- this migration) a usage line reads as its meter, a recurring fee as its
-- charge id, a minimum as its charge id with "(minimum commitment)".
-- Free units and prices are told beside the line by the renderers
-- (reports/invoice_words.c), from the rated line's steps. Issued lines
-- keep the text they were issued with: only documents issued from now on
-- read the new way.
CREATE OR REPLACE FUNCTION billrun_invoice_line_text(l rated_lines) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT CASE l.kind
    WHEN 'usage' THEN
      coalesce(nullif(l.detail ->> 'label', ''), l.meter)
    WHEN 'recurring' THEN
      coalesce(nullif(l.detail ->> 'label', ''), l.charge, 'fee')
      || CASE WHEN l.proration_part IS NOT NULL AND l.proration_whole > 0 AND l.proration_part <> l.proration_whole
              THEN ', ' || round(l.proration_part * 100 / l.proration_whole, 2) || '% of the period' ELSE '' END
    WHEN 'minimum' THEN
      coalesce(nullif(l.detail ->> 'label', ''), coalesce(l.charge, 'minimum') || ' (minimum commitment)')
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

-- The detail of the rated line whose words an issued line prints: its own
-- rated line, or for a difference (a supplementary or adjustment line,
-- rated_line_id NULL) the line of the same key in the rating its amount
-- comes from. NULL when there is none. For the renderers' queries
-- (invoice_doc_lines, invoice_doc_line_steps in sql/queries/invoice_show.sql).
CREATE FUNCTION billrun_invoice_line_rated_detail(p_rated_line_id bigint, p_rating_id bigint, p_line_key text)
RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    (SELECT x.detail FROM rated_lines x WHERE x.id = p_rated_line_id),
    (SELECT x.detail FROM rated_lines x
     WHERE p_rated_line_id IS NULL AND x.rating_id = p_rating_id
       AND billrun_invoice_line_key(x.kind, x.plan, x.charge, x.meter, x.tax_group, x.tax_jurisdiction, x.tax_rate)
           = p_line_key
     ORDER BY x.line_no LIMIT 1))
$$;
