package main_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestEveryCommandHasHelp: "storagefirst COMMAND -h" prints that command's
// synopsis and description and exits 0, for every command and command group.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	bin := build(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-h"}, "storagefirst migrate"},
		{[]string{"help"}, "storagefirst dlq list"},
		{[]string{"migrate", "-h"}, "Usage: storagefirst migrate"},
		{[]string{"queue", "-h"}, "Usage: storagefirst queue COMMAND"},
		{[]string{"queue", "stats", "-h"}, "Usage: storagefirst queue stats"},
		{[]string{"dlq", "-h"}, "Usage: storagefirst dlq COMMAND"},
		{[]string{"dlq", "--help"}, "storagefirst dlq replay"},
		{[]string{"dlq", "list", "-h"}, "Usage: storagefirst dlq list"},
		{[]string{"dlq", "show", "-h"}, "Usage: storagefirst dlq show"},
		{[]string{"dlq", "replay", "-h"}, "Usage: storagefirst dlq replay"},
		{[]string{"dlq", "purge", "-h"}, "Usage: storagefirst dlq purge"},
		{[]string{"bench", "-h"}, "Usage: storagefirst bench"},
		{[]string{"console", "-h"}, "Usage: storagefirst console"},
	} {
		out := runCmd(t, bin, 0, tc.args...)
		require.Contains(t, out, tc.want, "%v", tc.args)
		require.NotContains(t, out, "unknown command", "%v", tc.args)
		require.NotContains(t, out, "unknown dlq command", "%v", tc.args)
		lines := strings.Split(out, "\n")
		if len(lines) > 2 && strings.HasPrefix(lines[0], "Usage: ") {
			require.NotEmpty(t, lines[2], "%v: a description under the synopsis", tc.args)
		}
	}
	require.Contains(t, runCmd(t, bin, 2, "dlq"), "Usage: storagefirst dlq COMMAND")
	require.Contains(t, runCmd(t, bin, 2, "dlq", "nope"), `unknown dlq command "nope"`)
}

// TestSQLiteStore: the CLI opens a SQLite store by path or sqlite: URL (the
// pizza example's pizza.db), refuses a missing file instead of creating one, and
// says so when the application still owns the file.
func TestSQLiteStore(t *testing.T) {
	t.Parallel()
	bin := build(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pizza.db")
	s, err := sqlitestore.Open(ctx, path, sqlitestore.Config{})
	require.NoError(t, err)
	q, err := s.Queue("create-order")
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("pizza.order.create", []byte(`{"username":"poison-1"}`))
	require.NoError(t, err)
	require.NoError(t, q.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env, Failures: []storagefirst.Failure{
		{Attempt: 1, At: time.Now(), Class: "permanent", Code: "KITCHEN", Error: "rejected", Origin: "create-order"}}}))

	// The application owns the file: the read commands inspect it beside the
	// owner (read-only); a write command says to stop it, no second owner.
	out := runCmd(t, bin, 0, "dlq", "list", "-database-url", path, "-queue", "create-order")
	require.Contains(t, out, env.ID)
	require.Contains(t, runCmd(t, bin, 0, "dlq", "show", "-database-url", path, "-queue", "create-order", "-id", env.ID), "KITCHEN")
	out = runCmd(t, bin, 0, "queue", "stats", "-database-url", path, "-queue", "create-order", "-json")
	var running map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &running))
	require.EqualValues(t, 1, running["dead"])
	require.Equal(t, "create-order", running["queue"])
	var shape storagefirst.QueueStats
	require.NoError(t, json.Unmarshal([]byte(out), &shape), "QueueStats' own JSON shape")
	require.Equal(t, int64(1), shape.Dead)
	out = runCmd(t, bin, 1, "dlq", "replay", "-database-url", path, "-queue", "create-order")
	require.Contains(t, out, "stop the application")
	require.NoError(t, s.Close())

	out = runCmd(t, bin, 0, "dlq", "list", "-database-url", path, "-queue", "create-order")
	require.Contains(t, out, env.ID)
	out = runCmd(t, bin, 0, "queue", "stats", "-database-url", "sqlite:"+path, "-queue", "create-order", "-json")
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.EqualValues(t, 1, st["dead"])
	out = runCmd(t, bin, 0, "dlq", "replay", "-database-url", "sqlite://"+path, "-queue", "create-order")
	require.Contains(t, out, "replayed 1")
	out = runCmd(t, bin, 0, "queue", "stats", "-database-url", path, "-queue", "create-order", "-json")
	require.NoError(t, json.Unmarshal([]byte(out), &st))
	require.EqualValues(t, 0, st["dead"])
	require.EqualValues(t, 1, st["ready"])
	require.Contains(t, runCmd(t, bin, 0, "migrate", "-database-url", path), "up to date")

	missing := filepath.Join(t.TempDir(), "typo.db")
	require.Contains(t, runCmd(t, bin, 1, "dlq", "list", "-database-url", missing, "-queue", "create-order"), "no SQLite store at")
	require.NoFileExists(t, missing)
}
