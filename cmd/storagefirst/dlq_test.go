package main_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestDLQSessionPostgres drives the real command through a dead-letter session:
// list, show, a dry run, a limited replay, the rest, and purge.
func TestDLQSessionPostgres(t *testing.T) {
	t.Parallel()
	bin := build(t)
	url, schema := pgtest.NewSchema(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Migrate(ctx)
	require.NoError(t, err)
	q, err := s.Queue("orders")
	require.NoError(t, err)
	var ids []string
	for i := range 3 {
		env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"lee"}`))
		require.NoError(t, err)
		code := "DUPLICATE"
		if i == 2 {
			code = "TIMEOUT"
		}
		require.NoError(t, q.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env, Failures: []storagefirst.Failure{
			{Attempt: 3, At: time.Now(), Class: "retryable", Code: code, Error: "boom", Origin: "create-order"}}}))
		ids = append(ids, env.ID)
	}
	src := []string{"-database-url", url, "-schema", schema, "-queue", "orders"}
	arg := func(a ...string) []string {
		return append(append([]string{"dlq"}, a[:1]...), append(append([]string{}, src...), a[1:]...)...)
	}

	out := runCmd(t, bin, 0, arg("list")...)
	require.Contains(t, out, ids[0])
	require.Contains(t, out, "3 dead letters")
	require.Contains(t, out, "2  DUPLICATE")
	out = runCmd(t, bin, 0, arg("list", "-code", "TIMEOUT", "-json")...)
	var listed struct {
		Entries []struct{ Envelope storagefirst.Envelope }
		Counts  dlq.Counts
	}
	require.NoError(t, json.Unmarshal([]byte(out), &listed))
	require.Len(t, listed.Entries, 1)
	require.Equal(t, ids[2], listed.Entries[0].Envelope.ID)

	out = runCmd(t, bin, 0, arg("show", "-id", ids[1])...)
	require.Contains(t, out, "retryable [DUPLICATE create-order]: boom")
	require.Contains(t, out, `"username": "lee"`)
	runCmd(t, bin, 1, arg("show", "-id", "nope")...)

	require.Contains(t, runCmd(t, bin, 0, arg("replay", "-dry-run")...), "would replay 3, skipped 0, failed 0")
	require.Contains(t, runCmd(t, bin, 0, arg("replay", "-limit", "1")...), "replayed 1, skipped 0, failed 0")
	out = runCmd(t, bin, 0, arg("replay", "-json")...)
	var sum dlq.Summary
	require.NoError(t, json.Unmarshal([]byte(out), &sum))
	require.Equal(t, 2, sum.Replayed)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(3), st.Ready)
	require.Zero(t, st.Dead)

	require.Contains(t, runCmd(t, bin, 2, arg("purge")...), "add -yes")
	ds, err := q.Claim(ctx, 3, time.Minute)
	require.NoError(t, err)
	for _, d := range ds {
		require.NoError(t, q.DeadLetter(ctx, d.Lease, storagefirst.NewFailure(1, time.Now(), errors.New("again"))))
	}
	require.Contains(t, runCmd(t, bin, 0, arg("purge", "-yes")...), "purged 3 dead letters")
	require.Contains(t, runCmd(t, bin, 0, arg("list")...), "0 dead letters")

	// -to-queue naming the dead letters' own queue replays in place: a Put would be
	// a duplicate of the dead letter (never a revival), and deleting it would lose it.
	env, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"username":"kim"}`))
	require.NoError(t, err)
	require.NoError(t, q.SendDeadLetter(ctx, storagefirst.DeadLetter{Envelope: env}))
	require.Contains(t, runCmd(t, bin, 0, arg("replay", "-to-queue", "orders")...), "replayed 1, skipped 0, failed 0")
	st, err = q.Stats(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(1), st.Ready)
	require.Zero(t, st.Dead)
	require.Contains(t, runCmd(t, bin, 2, "dlq", "list"), "-queue")
	require.Contains(t, runCmd(t, bin, 0, "dlq", "replay", "-h"), "-dry-run")
}
