package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/storagefirst/storagefirst-go/console"
)

// consoleCommand serves the operator console over a store (Postgres or SQLite)
// until ctx ends.
func consoleCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("console", stderr)
	var db dbFlags
	db.register(fs)
	queues := fs.String("queues", "", "comma-separated queue names to show (required)")
	addr := fs.String("addr", "127.0.0.1:8081", "listen address")
	token := fs.String("token", os.Getenv("STORAGEFIRST_CONSOLE_TOKEN"),
		"bearer token, also the password of basic-auth user admin (default $STORAGEFIRST_CONSOLE_TOKEN; generated and printed when empty)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var names []string
	for _, n := range strings.Split(*queues, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		fmt.Fprintln(stderr, "-queues is required")
		return errUsage
	}
	s, err := db.open(ctx, readWrite)
	if err != nil {
		return err
	}
	defer s.close()
	cfg := console.Config{Path: "/console", Workflows: s.Workflows(), Logger: slog.New(slog.NewTextHandler(stderr, nil))}
	for _, n := range names {
		q, err := s.Queue(n)
		if err != nil {
			return err
		}
		cfg.Queues = append(cfg.Queues, console.Queue{Name: n, Stats: q, Dead: q})
	}
	generated := false
	if *token == "" {
		b := make([]byte, 16)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		*token, generated = hex.EncodeToString(b), true
	}
	cfg.Auth = console.Auth{BearerToken: *token, Users: map[string]string{"admin": *token}}
	c, err := console.New(cfg)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", c)
	mux.Handle("GET /{$}", http.RedirectHandler("/console/", http.StatusFound))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second}
	fmt.Fprintf(stdout, "console listening on http://%s/console/\n", ln.Addr())
	if generated {
		fmt.Fprintf(stdout, "user admin, password %s (or Authorization: Bearer %s)\n", *token, *token)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
