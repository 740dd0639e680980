-- ack_leased acknowledges a leased envelope inside the caller's transaction (the
-- one that applies the envelope's effect and records its idempotency outcome), or
-- raises SQLSTATE SF002 when the lease's token no longer holds the envelope (it
-- expired and was claimed again, or was answered already), so that the whole
-- transaction fails with it: the effect, the record and the acknowledgement commit
-- together or not at all.
CREATE FUNCTION {{schema}}.ack_leased(p_queue text, p_id text, p_token bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {{schema}}.envelopes
     WHERE queue = p_queue AND id = p_id AND lease_token = p_token AND state = 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'queue lease lost: queue % envelope % token %', p_queue, p_id, p_token
            USING ERRCODE = 'SF002';
    END IF;
END
$$;
