-- 016: the per-record rounding of a usage quantity, defined once. Up (away
-- from zero) to a multiple of the meter's round_increment; a quantity that
-- is a multiple already, or a meter without an increment (NULL or not
-- positive), is left as it is; mod() on numeric is exact. The aggregate
-- step and `billrun rate explain` call it. A plain SQL expression,
-- IMMUTABLE and not STRICT: PostgreSQL inlines it into the calling query,
-- so it costs nothing per row over writing the expression out.
CREATE FUNCTION billrun_round_up(p_quantity numeric, p_increment numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_increment IS NULL OR p_increment <= 0 OR mod(p_quantity, p_increment) = 0 THEN p_quantity
              WHEN p_quantity > 0 THEN p_quantity - mod(p_quantity, p_increment) + p_increment
              ELSE p_quantity - mod(p_quantity, p_increment) - p_increment
         END
$$;
