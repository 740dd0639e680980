-- Indexes that make each query read what it returns.
--
-- Claims: a group commit stores its whole batch with one now(), so many due rows
-- share available_at. The claim orders by (available_at, id); with id in the index
-- the order is the index's own, and a claim reads the rows it locks (plus any that
-- concurrent claimers hold, which SKIP LOCKED passes over) instead of every row of
-- the tie. It replaces envelopes_due, which it covers.
CREATE INDEX envelopes_due_id ON {{schema}}.envelopes (queue, available_at, id) WHERE state < 2;
DROP INDEX {{schema}}.envelopes_due;

-- Dead letters, in the order ListDead pages through them, by type or all. Only
-- dead rows have entries: the index costs nothing to the live rows' writes.
CREATE INDEX envelopes_dead ON {{schema}}.envelopes (queue, id) WHERE state = 2;
CREATE INDEX envelopes_dead_type ON {{schema}}.envelopes (queue, type, id) WHERE state = 2;

-- CREATE INDEX (not CONCURRENTLY: a migration is one transaction) blocks writes to
-- the table while it builds; on a large queue, run the migration at a quiet time.
