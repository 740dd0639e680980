-- Retention of workflow executions (workflow.Store Prune): when a finished
-- execution stopped, and an index to find the oldest ones. Executions finished
-- before this migration count as stopped when they started.
ALTER TABLE {{schema}}.executions ADD COLUMN stopped_at timestamptz;

UPDATE {{schema}}.executions SET stopped_at = started_at WHERE status <> 'RUNNING';

CREATE INDEX executions_stopped ON {{schema}}.executions (stopped_at) WHERE status <> 'RUNNING';
