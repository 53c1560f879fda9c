-- 015: the audit chain's helper functions of 007, the same results, in
-- PL/pgSQL. As SQL functions that PostgreSQL cannot inline (their bodies
-- call STABLE functions or read FROM unnest), they were parsed and planned
-- again at every call: for every audit entry, over half of the server's
-- work when the runner records a step (core/README.md, bench-scheduler).
-- PL/pgSQL keeps a function's plans for the session. Output is unchanged,
-- byte for byte: the chain's hashes, billrun audit verify (C computes the
-- same canonical form) and test_audit check it.
CREATE OR REPLACE FUNCTION billrun_audit_time(p_at timestamptz) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
  RETURN to_char(p_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
END
$$;

-- Netstrings of the six fields, in this order (STRICT: none is NULL).
CREATE OR REPLACE FUNCTION billrun_audit_canonical(p_id bigint, p_at text, p_actor text, p_kind text,
                                                   p_entity text, p_payload text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  f text;
  canonical text := '';
BEGIN
  FOREACH f IN ARRAY ARRAY[p_id::text, p_at, p_actor, p_kind, p_entity, p_payload] LOOP
    canonical := canonical || octet_length(f) || ':' || f || ',';
  END LOOP;
  RETURN canonical;
END
$$;

CREATE OR REPLACE FUNCTION billrun_audit_hash(p_prev text, p_canonical text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
  RETURN encode(sha256(convert_to(p_prev || p_canonical, 'UTF8')), 'hex');
END
$$;

CREATE OR REPLACE FUNCTION billrun_audit_actor() RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN CASE WHEN current_setting('role') = 'none' THEN session_user::text ELSE current_setting('role') END;
END
$$;

-- Every audited row change appends through this one (the history tables'
-- triggers, the jobs' set-based SQL, audit_append() in C).
CREATE OR REPLACE FUNCTION billrun_audit(p_kind text, p_entity text, p_payload jsonb) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  appended bigint;
BEGIN
  INSERT INTO audit_log (kind, entity, payload) VALUES (p_kind, p_entity, p_payload::text) RETURNING id INTO appended;
  RETURN appended;
END
$$;
