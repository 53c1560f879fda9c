-- 045: the parties an invoice requires (issue 19, item 2). An account
-- gains its postal address, country, VAT identifier, electronic address
-- and whether it is billed business to business; `billrun accounts import`
-- fills them, with type 2 history like the other columns (a change is a
-- new version). The issuing statements copy them into the document's
-- customer object, so an invoice keeps the buyer it was issued to.
--
-- The rule (jobs/INVOICES.md, "The parties"): an account billed B2B
-- (b2b = true) whose country is a member state of the EU, or unknown, must
-- have its legal name (accounts.name), street, city, postcode, country and
-- VAT identifier (Council Directive 2006/112/EC, article 226 (5) and (4)
-- for a buyer liable for the tax). The quarantine step holds each of its
-- account periods a run rated without them (reason buyer_details, the
-- detail naming the missing fields) instead of letting it be invoiced
-- incompletely. Consumers (b2b = false) and buyers outside the EU are not
-- held: the invoice carries what is known of them.
ALTER TABLE accounts
  ADD COLUMN address_line1 text NOT NULL DEFAULT '',   -- street and number
  ADD COLUMN address_line2 text NOT NULL DEFAULT '',
  ADD COLUMN city          text NOT NULL DEFAULT '',
  ADD COLUMN postcode      text NOT NULL DEFAULT '',
  ADD COLUMN country       text NOT NULL DEFAULT '' CHECK (country ~ '^([A-Z]{2})?$'),  -- ISO 3166-1 alpha-2
  ADD COLUMN vat_id        text NOT NULL DEFAULT '',   -- with its country prefix: DE123456789
  ADD COLUMN endpoint      text NOT NULL DEFAULT '' CHECK (endpoint ~ '^([0-9A-Z]{2,4}:.+)?$'), -- SCHEME:ID
  ADD COLUMN b2b           boolean NOT NULL DEFAULT false;

-- The member states of the EU by ISO 3166-1 code (and EL, Greece's VAT
-- prefix).
CREATE FUNCTION billrun_eu_country(p_code text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_code = ANY (ARRAY['AT','BE','BG','CY','CZ','DE','DK','EE','EL','ES','FI','FR','GR','HR','HU','IE','IT',
                             'LT','LU','LV','MT','NL','PL','PT','RO','SE','SI','SK'])
$$;

-- What account version p_id lacks of what an invoice to it must carry
-- (the rule above), as "name, street, VAT id": '' when nothing is missing
-- or the rule does not apply.
CREATE FUNCTION billrun_buyer_missing(p_id bigint) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT coalesce(array_to_string(ARRAY[
           CASE WHEN btrim(a.name) = '' THEN 'name' END,
           CASE WHEN btrim(a.address_line1) = '' THEN 'address_line1' END,
           CASE WHEN btrim(a.city) = '' THEN 'city' END,
           CASE WHEN btrim(a.postcode) = '' THEN 'postcode' END,
           CASE WHEN a.country = '' THEN 'country' END,
           CASE WHEN btrim(a.vat_id) = '' THEN 'vat_id' END], ', '), '')
  FROM accounts a
  WHERE a.id = p_id AND a.b2b AND (a.country = '' OR billrun_eu_country(a.country))
$$;

INSERT INTO hold_reasons (code, origin, description) VALUES
  ('buyer_details', 'quarantine',
   'the account is billed business to business in the EU and lacks a detail an invoice must carry (legal name, address, country, VAT identifier)');

-- account_import with the parties: $1..$8 as before (005), then address
-- lines, city, postcode, country, VAT id, endpoint, b2b, and valid_from
-- last. The nine-argument form stays for callers that know only those.
CREATE FUNCTION account_import(p_ext text, p_name text, p_zone text, p_anchor smallint, p_currency text,
                               p_tax text, p_cost_centre text, p_email text, p_line1 text, p_line2 text,
                               p_city text, p_postcode text, p_country text, p_vat_id text, p_endpoint text,
                               p_b2b boolean, p_valid_from text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  cur accounts;
  vf  timestamptz;
BEGIN
  PERFORM now() AT TIME ZONE p_zone;   -- raises for an unknown zone
  vf := CASE WHEN p_valid_from IS NULL THEN now() ELSE billrun_local_instant(p_valid_from, p_zone) END;
  SELECT * INTO cur FROM accounts WHERE external_id = p_ext AND valid_to IS NULL;
  IF FOUND THEN
    IF cur.name = p_name AND cur.time_zone = p_zone AND cur.anchor_day = p_anchor
       AND cur.currency = p_currency AND cur.tax_jurisdiction = p_tax
       AND cur.cost_centre = p_cost_centre AND cur.email = p_email AND cur.address_line1 = p_line1
       AND cur.address_line2 = p_line2 AND cur.city = p_city AND cur.postcode = p_postcode
       AND cur.country = p_country AND cur.vat_id = p_vat_id AND cur.endpoint = p_endpoint AND cur.b2b = p_b2b THEN
      RETURN 'unchanged';
    END IF;
    IF vf <= cur.valid_from THEN
      RAISE EXCEPTION 'account "%" changes from % but its current version is valid from %', p_ext, vf, cur.valid_from
        USING ERRCODE = 'data_exception',
              HINT = 'history is only added to: give a valid_from after the current version''s';
    END IF;
    UPDATE accounts SET valid_to = vf WHERE id = cur.id;
  ELSIF EXISTS (SELECT 1 FROM accounts WHERE external_id = p_ext AND coalesce(valid_to, valid_from) > vf) THEN
    RAISE EXCEPTION 'account "%" has history after %', p_ext, vf
      USING ERRCODE = 'data_exception';
  END IF;
  INSERT INTO accounts (external_id, valid_from, name, time_zone, anchor_day, currency, tax_jurisdiction,
                        cost_centre, email, address_line1, address_line2, city, postcode, country, vat_id,
                        endpoint, b2b)
  VALUES (p_ext, vf, p_name, p_zone, p_anchor, p_currency, p_tax, p_cost_centre, p_email, p_line1, p_line2,
          p_city, p_postcode, p_country, p_vat_id, p_endpoint, p_b2b);
  RETURN CASE WHEN cur.id IS NULL THEN 'new' ELSE 'changed' END;
END
$$;

-- The customer object an issued document stores (jsonb, 010): the account
-- version it was billed with, now with the buyer's address, country, VAT
-- identifier, electronic address and b2b.
CREATE FUNCTION billrun_invoice_customer(a accounts) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT jsonb_build_object('account', a.external_id, 'name', a.name, 'email', a.email,
                            'tax_jurisdiction', a.tax_jurisdiction, 'cost_centre', a.cost_centre,
                            'time_zone', a.time_zone, 'address_line1', a.address_line1,
                            'address_line2', a.address_line2, 'city', a.city, 'postcode', a.postcode,
                            'country', a.country, 'vat_id', a.vat_id, 'endpoint', a.endpoint, 'b2b', a.b2b)
$$;
