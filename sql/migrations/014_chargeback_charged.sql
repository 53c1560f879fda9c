-- 014: what the chargeback charges. A cost centre is charged, for each
-- account period with FOCUS usage, the pre-tax subtotal of the period's
-- current rating: the plan prices the cloud usage (at cost, or with a
-- mark-up). chargeback_charge(account, period) is that amount, read by
-- both sides that must agree on it:
--   * the reconcile step's focus_cost check compares it with the sum of
--     BilledCost of the period (before any invoice is issued);
--   * the chargeback step writes it into its report (the `charged` column
--     of each account row, summed in the total rows) and into
--     chargeback_reports.charged.
-- A held rating charges nothing yet: no row.
CREATE FUNCTION chargeback_charge(p_account text, p_period date)
RETURNS TABLE (rating_id bigint, currency char(3), charged numeric)
LANGUAGE sql STABLE AS $$
  SELECT r.id, r.currency, r.subtotal
  FROM (SELECT id, currency, subtotal, status FROM ratings
        WHERE account_ext = p_account AND period_local_start = p_period
        ORDER BY snapshot_id DESC, id DESC LIMIT 1) r   -- ratings_current, by index
  WHERE r.status = 'rated'
$$;

-- NULL on rows written before 014 (they did not record it).
ALTER TABLE chargeback_reports ADD COLUMN charged numeric;

