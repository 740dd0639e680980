package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// cli is the real command, built once for all the tests of this binary.
var cli struct {
	once sync.Once
	dir  string
	bin  string
	out  []byte
	err  error
}

func TestMain(m *testing.M) {
	pgtest.Main(m, func() {
		if cli.dir != "" {
			_ = os.RemoveAll(cli.dir)
		}
	})
}

// build compiles the real command on first use and returns its path; the tests
// share the binary.
func build(t *testing.T) string {
	t.Helper()
	cli.once.Do(func() {
		if cli.dir, cli.err = os.MkdirTemp("", "storagefirst-cli-test-"); cli.err != nil {
			return
		}
		cli.bin = filepath.Join(cli.dir, "storagefirst")
		cli.out, cli.err = exec.Command("go", "build", "-o", cli.bin, ".").CombinedOutput()
	})
	require.NoError(t, cli.err, string(cli.out))
	return cli.bin
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
	require.Contains(t, runCmd(t, bin, 0, "migrate", "-h"), "-database-url")
	require.Contains(t, runCmd(t, bin, 2, "migrate"), "-database-url is required")
	runCmd(t, bin, 2, "queue", "stats", "-database-url", "postgres://x")
	require.Contains(t, runCmd(t, bin, 1, "migrate", "-database-url", "postgres://x", "-schema", "Bad-Name"), "invalid schema")
}

// TestBench runs the bench subcommand briefly against the test database: one JSON
// line per variant and concurrency, and usage errors for bad flags.
func TestBench(t *testing.T) {
	t.Parallel()
	bin := build(t)
	url := pgtest.URL(t)
	out := runCmd(t, bin, 0, "bench", "-database-url", url, "-cases", "put", "-duration", "100ms", "-reps", "2", "-pool", "20")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// a header, then naive and group_commit at 1, 16 and 64 callers, twice, then a
	// summary row of each
	require.Len(t, lines, 1+12+6, out)
	var h struct {
		Header                                     bool
		Date, Machine, Postgres, SynchronousCommit string
	}
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &struct {
		Header            *bool   `json:"header"`
		Date              *string `json:"date"`
		Machine           *string `json:"machine"`
		Postgres          *string `json:"postgres_version"`
		SynchronousCommit *string `json:"synchronous_commit"`
	}{&h.Header, &h.Date, &h.Machine, &h.Postgres, &h.SynchronousCommit}), lines[0])
	require.True(t, h.Header, lines[0])
	require.NotEmpty(t, h.Date)
	require.NotEmpty(t, h.Machine)
	require.NotEqual(t, "?", h.Postgres)
	require.NotEqual(t, "?", h.SynchronousCommit)
	lines = lines[1:]
	for i, l := range lines {
		var r struct {
			Case, Variant, Backend, Settings string
			Concurrency, Rep, Reps           int
			Envelopes                        int64
			Summary                          bool
			RatioToBaseline                  float64 `json:"ratio_to_baseline"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &r), l)
		require.Equal(t, "put", r.Case)
		require.Equal(t, "postgres", r.Backend)
		require.Contains(t, []string{"naive_insert", "group_commit"}, r.Variant)
		require.Equal(t, i >= 12, r.Summary, l)
		if r.Summary {
			require.Equal(t, 2, r.Reps, l)
			if r.Variant == "group_commit" {
				require.Positive(t, r.RatioToBaseline, l)
			}
			continue
		}
		require.Positive(t, r.Envelopes, l)
		require.Contains(t, r.Settings, "synchronous_commit", l)
	}
	out = runCmd(t, bin, 0, "bench", "-database-url", url, "-cases", "put", "-duration", "50ms", "-reps", "1", "-pool", "20", "-json=false")
	require.Contains(t, out, "group_commit")
	require.Contains(t, out, "synchronous_commit=")
	require.Contains(t, runCmd(t, bin, 1, "bench", "-database-url", url, "-cases", "nope"), `unknown case "nope"`)
	require.Contains(t, runCmd(t, bin, 0, "bench", "-h"), "-cases")
	runCmd(t, bin, 2, "bench", "extra")
}
