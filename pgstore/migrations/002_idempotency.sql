-- Idempotency records, keyed by (scope, key). Tokens come from the shared sequence,
-- so a token is never handed out twice, whatever happens to the rows.
CREATE TABLE {{schema}}.idempotency (
    scope          text        NOT NULL,
    key            text        NOT NULL,
    fingerprint    text        NOT NULL DEFAULT '',
    state          text        NOT NULL,
    token          bigint      NOT NULL,
    lease_until    timestamptz,
    outcome_error  text        NOT NULL DEFAULT '',
    outcome_result bytea,
    expires_at     timestamptz,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
) WITH (fillfactor = 70);

-- No index but the primary key, and room left on every page: a record's state
-- changes (claim, complete, release) then stay heap-only (HOT) updates that write no
-- index entries. The reaper scans, rarely.

-- idempotency_complete stores an outcome under a claim, or raises SQLSTATE SF001
-- when the claim's token no longer holds the record, so that the transaction that
-- applied the effect fails with it. Completing twice under the same token is fine.
CREATE FUNCTION {{schema}}.idempotency_complete(p_scope text, p_key text, p_token bigint,
    p_error text, p_result bytea, p_ttl interval) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {{schema}}.idempotency
       SET state = 'completed', outcome_error = p_error, outcome_result = p_result,
           expires_at = now() + p_ttl, lease_until = NULL, updated_at = now()
     WHERE scope = p_scope AND key = p_key AND token = p_token AND state = 'in_progress';
    IF NOT FOUND AND NOT EXISTS (
        SELECT 1 FROM {{schema}}.idempotency
         WHERE scope = p_scope AND key = p_key AND token = p_token AND state = 'completed') THEN
        RAISE EXCEPTION 'idempotency lease lost: scope % key % token %', p_scope, p_key, p_token
            USING ERRCODE = 'SF001';
    END IF;
END
$$;
