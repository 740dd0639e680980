-- Workflow executions (workflow.Store). The whole execution is kept as JSON (json,
-- not jsonb: inputs and outputs stay byte for byte); the columns beside it are what
-- queries need.
CREATE TABLE {{schema}}.executions (
    id         text        PRIMARY KEY,
    workflow   text        NOT NULL,
    status     text        NOT NULL,
    deadline   timestamptz NOT NULL,
    started_at timestamptz NOT NULL,
    version    bigint      NOT NULL,
    doc        json        NOT NULL
);

CREATE INDEX executions_running ON {{schema}}.executions (deadline) WHERE status = 'RUNNING';
