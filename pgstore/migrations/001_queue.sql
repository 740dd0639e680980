-- The queue: one row per envelope not yet acknowledged, dead letters included.
-- state: 0 = waiting (ready once available_at has come), 1 = leased until
-- available_at (an expired lease is due again), 2 = dead.
CREATE SEQUENCE {{schema}}.tokens;

CREATE TABLE {{schema}}.envelopes (
    queue           text        NOT NULL,
    id              text        NOT NULL,
    type            text        NOT NULL,
    source          text        NOT NULL DEFAULT '',
    accepted_at     timestamptz NOT NULL,
    idempotency_key text        NOT NULL DEFAULT '',
    correlation_id  text        NOT NULL DEFAULT '',
    metadata        jsonb,
    payload         text, -- JSON, kept byte for byte (validated before insert)
    state           smallint    NOT NULL DEFAULT 0,
    attempt         integer     NOT NULL DEFAULT 0,
    available_at    timestamptz NOT NULL DEFAULT now(),
    lease_token     bigint,
    failures        jsonb,
    dead_at         timestamptz,
    PRIMARY KEY (queue, id)
);

CREATE INDEX envelopes_due ON {{schema}}.envelopes (queue, available_at) WHERE state < 2;

-- append_failure appends f to the history h, keeping the first failure and the most
-- recent ones, max in all.
CREATE FUNCTION {{schema}}.append_failure(h jsonb, f jsonb, max integer) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN h IS NULL THEN jsonb_build_array(f)
        WHEN jsonb_array_length(h) < max THEN h || jsonb_build_array(f)
        ELSE jsonb_build_array(h -> 0)
             || (SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb)
                   FROM jsonb_array_elements(h) WITH ORDINALITY AS t(e, i)
                  WHERE i > jsonb_array_length(h) - max + 2)
             || jsonb_build_array(f)
    END
$$;
