-- The application roles (when Roles names them), granted table by table: the
-- writer is what the create-order and cancel-order functions need (the
-- idempotency records and the token sequence of the create consumer; SELECT,
-- INSERT, UPDATE on orders) and nothing else: not the queue, the workflow
-- executions or schema_migrations (it owns nothing, so it cannot alter or drop
-- anything); the reader may only read the orders. Both log in with IAM
-- authentication on RDS (rds_iam), and have no password.
DO $$BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{writer_name}}') THEN CREATE ROLE {{writer}} LOGIN; END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{reader_name}}') THEN CREATE ROLE {{reader}} LOGIN; END IF;
	IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
		GRANT rds_iam TO {{writer}}, {{reader}};
	END IF;
END$$;
GRANT USAGE ON SCHEMA {{schema}} TO {{writer}}, {{reader}};
REVOKE ALL ON ALL TABLES IN SCHEMA {{schema}} FROM {{writer}};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {{schema}} FROM {{writer}};
GRANT SELECT, INSERT, UPDATE, DELETE ON {{schema}}.idempotency TO {{writer}};
GRANT USAGE ON SEQUENCE {{schema}}.tokens TO {{writer}};
GRANT SELECT, INSERT, UPDATE ON {{schema}}.orders TO {{writer}};
REVOKE ALL ON ALL TABLES IN SCHEMA {{schema}} FROM {{reader}};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA {{schema}} FROM {{reader}};
GRANT SELECT ON {{schema}}.orders TO {{reader}};
