-- The application roles (when Roles names them): the writer may read and write
-- the store's and the orders tables, nothing else (it owns nothing, so it cannot
-- alter or drop them); the reader may only read the orders. Both log in with IAM
-- authentication on RDS (rds_iam), and have no password.
DO $$BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{writer_name}}') THEN CREATE ROLE {{writer}} LOGIN; END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{reader_name}}') THEN CREATE ROLE {{reader}} LOGIN; END IF;
	IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
		GRANT rds_iam TO {{writer}}, {{reader}};
	END IF;
END$$;
GRANT USAGE ON SCHEMA {{schema}} TO {{writer}}, {{reader}};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {{schema}} TO {{writer}};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {{schema}} TO {{writer}};
REVOKE ALL ON ALL TABLES IN SCHEMA {{schema}} FROM {{reader}};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {{schema}} FROM {{reader}};
GRANT SELECT ON {{schema}}.orders TO {{reader}};
