-- The cancel request (CancelOrder.Attempt) that cancelled an order: a retry of
-- the same request finds it and cancels no other order.
ALTER TABLE {{schema}}.orders ADD COLUMN IF NOT EXISTS cancelled_by text;
CREATE UNIQUE INDEX IF NOT EXISTS orders_cancelled_by ON {{schema}}.orders (cancelled_by);
