package main_test

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestConsoleServesTheStore(t *testing.T) {
	t.Parallel()
	bin := build(t)
	url, schema := pgtest.NewSchema(t)
	runCmd(t, bin, 0, "migrate", "-database-url", url, "-schema", schema)

	// A dead letter in "orders".
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	defer pool.Close()
	s, err := pgstore.New(pool, pgstore.Config{Schema: schema, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer s.Close()
	q, err := s.Queue("orders")
	require.NoError(t, err)
	env, err := storagefirst.NewEnvelope("order.create", []byte(`{"n":1}`))
	require.NoError(t, err)
	require.NoError(t, q.Put(ctx, env))
	ds, err := q.Claim(ctx, 1, time.Minute)
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.NoError(t, q.DeadLetter(ctx, ds[0].Lease, storagefirst.NewFailure(1, time.Now(), storagefirst.Permanentf("no"))))

	cmd := exec.Command(bin, "console", "-database-url", url, "-schema", schema, "-queues", "orders,payments",
		"-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "STORAGEFIRST_CONSOLE_TOKEN=")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	r := bufio.NewReader(stdout)
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	base := strings.TrimSpace(strings.TrimPrefix(line, "console listening on "))
	creds, err := r.ReadString('\n')
	require.NoError(t, err)
	token := strings.Fields(strings.TrimPrefix(creds, "user admin, password "))[0]
	go func() { exited <- cmd.Wait() }()

	get := func(path, auth string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, base+path, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, string(b)
	}
	code, _ := get("", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, body := get("", "Bearer "+token)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "payments")
	code, body = get("dead?queue=orders", "Bearer "+token)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, env.ID)

	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	select {
	case err := <-exited:
		require.NoError(t, err, "a clean exit on interrupt")
	case <-time.After(30 * time.Second):
		t.Fatal("the console did not stop")
	}
}
