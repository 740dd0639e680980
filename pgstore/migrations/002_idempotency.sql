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
);

CREATE INDEX idempotency_expiry ON {{schema}}.idempotency (expires_at) WHERE expires_at IS NOT NULL;
