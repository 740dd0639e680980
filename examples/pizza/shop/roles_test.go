package shop_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// The migrations create the application roles: the writer does what the
// create-order and cancel-order functions do and nothing else (not the queue,
// the workflows or schema_migrations, and it may not alter the tables), the
// reader may only read the orders, and both are members of rds_iam (IAM
// authentication on RDS).
func TestApplicationRoles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, schema := pgtest.NewSchema(t)
	roles := pgshop.Roles{Writer: "w_" + schema, Reader: "r_" + schema}
	admin, err := pgx.Connect(ctx, dbURL)
	require.NoError(t, err)
	defer admin.Close(ctx)
	// rds_iam is RDS's; here a stand-in (it is global, so it may exist already).
	_, err = admin.Exec(ctx, `DO $$BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END$$`)
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, r := range []string{roles.Writer, roles.Reader} {
			id := pgx.Identifier{r}.Sanitize()
			_, _ = admin.Exec(context.Background(), `DROP OWNED BY `+id+`; DROP ROLE IF EXISTS `+id)
		}
	})

	pool, err := pgxpool.New(ctx, dbURL)
	require.NoError(t, err)
	b, err := pgshop.OpenPostgresPool(ctx, pool, pgshop.PostgresOptions{Schema: schema, Migrate: true, Roles: roles})
	require.NoError(t, err)
	b.Close()
	for _, r := range []string{roles.Writer, roles.Reader} {
		var member bool
		require.NoError(t, admin.QueryRow(ctx, `SELECT pg_has_role($1, 'rds_iam', 'MEMBER')`, r).Scan(&member))
		require.True(t, member, r)
	}

	urlAs := func(user string) string {
		u, err := url.Parse(dbURL)
		require.NoError(t, err)
		u.User = url.User(user)
		return u.String()
	}
	as := func(user string) *pgshop.Postgres {
		pool, err := pgxpool.New(ctx, urlAs(user))
		require.NoError(t, err)
		b, err := pgshop.OpenPostgresPool(ctx, pool, pgshop.PostgresOptions{Schema: schema})
		require.NoError(t, err)
		return b
	}
	denied := func(err error) {
		t.Helper()
		var pe *pgconn.PgError
		require.True(t, errors.As(err, &pe), "%v", err)
		require.Contains(t, []string{"42501"}, pe.Code, "%v", err) // insufficient_privilege (or not the owner)
	}

	// The writer runs the functions' work: the create consumer (exactly once,
	// through the idempotency records) and the cancel task.
	writer := as(roles.Writer)
	defer writer.Close()
	create, err := shop.CreateHandlerFor(writer.Orders(), writer.Idempotency())
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope(shop.TypeCreateOrder, []byte(`{"username":"lee"}`))
	require.NoError(t, err)
	env.IdempotencyKey = "lee-1"
	require.NoError(t, create.Handle(ctx, env))
	require.NoError(t, create.Handle(ctx, env), "a redelivery")
	second := env
	second.ID = env.ID + "-retry"
	require.NoError(t, create.Handle(ctx, second), "the client's retry")
	ord, err := shop.CancelFunc(writer.Orders())(ctx, shop.CancelInput{ActionType: "cancel", Body: shop.CancelOrder{Username: "lee"}})
	require.NoError(t, err)
	require.Equal(t, env.ID, ord.ID)
	require.Equal(t, shop.StatusCancelled, ord.Status)
	denied(writer.OrdersQueue().Put(ctx, env))
	wconn, err := pgx.Connect(ctx, urlAs(roles.Writer))
	require.NoError(t, err)
	for _, q := range []string{`SELECT * FROM %s`, `DELETE FROM %s`, `UPDATE %s SET version = version`} {
		_, err = wconn.Exec(ctx, fmt.Sprintf(q, pgx.Identifier{schema, "schema_migrations"}.Sanitize()))
		denied(err)
	}
	for _, table := range []string{"envelopes", "executions"} {
		_, err = wconn.Exec(ctx, `SELECT 1 FROM `+pgx.Identifier{schema, table}.Sanitize())
		denied(err)
	}
	_, err = wconn.Exec(ctx, `DELETE FROM `+pgx.Identifier{schema, "orders"}.Sanitize())
	denied(err)
	_, err = wconn.Exec(ctx, `DROP TABLE `+pgx.Identifier{schema, "orders"}.Sanitize())
	denied(err)
	_, err = wconn.Exec(ctx, `CREATE TABLE `+pgx.Identifier{schema, "mine"}.Sanitize()+` (x int)`)
	denied(err)
	require.NoError(t, wconn.Close(ctx))

	// The reader reads orders and nothing else.
	reader := as(roles.Reader)
	defer reader.Close()
	all, err := reader.Orders().List(ctx, "", 100)
	require.NoError(t, err)
	require.NotEmpty(t, all)
	_, err = reader.Orders().Get(ctx, all[0].ID)
	require.NoError(t, err)
	denied(reader.Orders().Create(ctx, shop.Order{ID: "x", Username: "mallory"}))
	_, err = reader.Orders().Cancel(ctx, shop.CancelOrder{ID: all[0].ID})
	denied(err)
	env, err = storagefirst.NewEnvelope(shop.TypeCreateOrder, []byte(`{"username":"mallory"}`))
	require.NoError(t, err)
	denied(reader.OrdersQueue().Put(ctx, env))
}
