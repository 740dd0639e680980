-- The orders table, beside the store's tables in the shop's schema.
CREATE TABLE IF NOT EXISTS {{schema}}.orders (
	id text PRIMARY KEY, username varchar(45) NOT NULL, items jsonb NOT NULL DEFAULT '[]',
	status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX IF NOT EXISTS orders_username ON {{schema}}.orders (username, id);
