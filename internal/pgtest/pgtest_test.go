package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestNewSchemaIsIsolated(t *testing.T) {
	t.Parallel()
	url, a := pgtest.NewSchema(t)
	_, b := pgtest.NewSchema(t)
	require.NotEqual(t, a, b)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var n int
	require.NoError(t, conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = ANY($1)", []string{a, b}).Scan(&n))
	require.Equal(t, 2, n)
}
