-- ack_leased, as in 006, but idempotent within one transaction: a second
-- acknowledgement of the same lease in the transaction that already acknowledged
-- it (CompleteFromContext called twice, or AckTx and then a completion) succeeds
-- instead of raising SF002 and failing every attempt. The transaction-local
-- setting storagefirst.acked remembers the leases this transaction acknowledged;
-- it ends with the transaction, so another transaction still gets SF002.
CREATE OR REPLACE FUNCTION {{schema}}.ack_leased(p_queue text, p_id text, p_token bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_mark text := p_queue || chr(31) || p_id || chr(31) || p_token::text || chr(30);
    v_acked text := coalesce(current_setting('storagefirst.acked', true), '');
BEGIN
    DELETE FROM {{schema}}.envelopes
     WHERE queue = p_queue AND id = p_id AND lease_token = p_token AND state = 1;
    IF FOUND THEN
        PERFORM set_config('storagefirst.acked', v_acked || v_mark, true);
        RETURN;
    END IF;
    IF strpos(v_acked, v_mark) = 0 THEN
        RAISE EXCEPTION 'queue lease lost: queue % envelope % token %', p_queue, p_id, p_token
            USING ERRCODE = 'SF002';
    END IF;
END
$$;
