package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// build compiles the real command once per test.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "storagefirst")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func runCmd(t *testing.T, bin string, wantCode int, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "STORAGEFIRST_DATABASE_URL=")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	require.Equal(t, wantCode, code, string(out))
	return string(out)
}

func TestMigrateAndQueueStats(t *testing.T) {
	t.Parallel()
	bin := build(t)
	url, schema := pgtest.NewSchema(t)

	out := runCmd(t, bin, 0, "migrate", "-database-url", url, "-schema", schema)
	ms, err := pgstore.Migrations()
	require.NoError(t, err)
	versions := make([]int, len(ms))
	for i, m := range ms {
		versions[i] = m.Version
	}
	require.Contains(t, out, fmt.Sprintf("applied migrations %v", versions), "every embedded migration")
	out = runCmd(t, bin, 0, "migrate", "-database-url", url, "-schema", schema)
	require.Contains(t, out, "up to date")

	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	defer s.Close()
	q, err := s.Queue("orders")
	require.NoError(t, err)
	e, err := storagefirst.NewEnvelope("order", []byte(`{}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, e))

	out = runCmd(t, bin, 0, "queue", "stats", "-database-url", url, "-schema", schema, "-queue", "orders", "-json")
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.EqualValues(t, 1, st["ready"])
	out = runCmd(t, bin, 0, "queue", "stats", "-database-url", url, "-schema", schema, "-queue", "orders")
	require.True(t, strings.HasPrefix(out, "QUEUE"), out)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	bin := build(t)
	runCmd(t, bin, 2)
	runCmd(t, bin, 2, "nope")
	require.Contains(t, runCmd(t, bin, 2, "migrate", "-h"), "-database-url")
	require.Contains(t, runCmd(t, bin, 2, "migrate"), "-database-url is required")
	runCmd(t, bin, 2, "queue", "stats", "-database-url", "postgres://x")
	require.Contains(t, runCmd(t, bin, 1, "migrate", "-database-url", "postgres://x", "-schema", "Bad-Name"), "invalid schema")
}
