// Command pizza is the reference pizza shop, storage-first, in one process: the
// HTTP API, the create-order consumer and the cancel workflow engine.
//
//	go run ./examples/pizza                          # SQLite file pizza.db in the working directory
//	go run ./examples/pizza -db postgres://...       # Postgres (pgstore)
//	go run ./examples/pizza -addr 127.0.0.1:9090
//	go run ./examples/pizza -traces stdout           # print every span
//	go run ./examples/pizza -traces otlp             # to OTEL_EXPORTER_OTLP_ENDPOINT
//
// The operator console is at /console/ and the admin endpoints under /admin/;
// both need the admin token (-admin-token or PIZZA_ADMIN_TOKEN; one is generated
// and printed when none is given) as a bearer token, or as the password of the
// basic-auth user "admin" in a browser. GET /metrics serves the metrics in the
// Prometheus text format.
//
// Flags may also come from PIZZA_ADDR, PIZZA_DB, PIZZA_SCHEMA, PIZZA_ADMIN_TOKEN
// and PIZZA_TRACES. It stops
// gracefully on Ctrl-C or SIGTERM: in-flight requests and work finish (or are
// released for the next start).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/operator"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/sqliteshop"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

type options struct {
	addr, db, schema, failPrefix, token, traces string
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	addr := flag.String("addr", env("PIZZA_ADDR", "127.0.0.1:8080"), "listen address (PIZZA_ADDR)")
	db := flag.String("db", env("PIZZA_DB", "pizza.db"), "a SQLite file, or a postgres:// URL (PIZZA_DB)")
	schema := flag.String("schema", env("PIZZA_SCHEMA", "pizza"), "Postgres schema (PIZZA_SCHEMA)")
	failPrefix := flag.String("fail-create-prefix", env("PIZZA_FAIL_CREATE_PREFIX", ""),
		"demo: creates for usernames with this prefix fail for good and land in the DLQ (PIZZA_FAIL_CREATE_PREFIX)")
	token := flag.String("admin-token", env("PIZZA_ADMIN_TOKEN", ""),
		"the token of /admin/ and /console/; generated and printed when empty (PIZZA_ADMIN_TOKEN)")
	traces := flag.String("traces", env("PIZZA_TRACES", ""), "export traces: stdout, otlp (OTEL_EXPORTER_OTLP_* variables), or empty for none (PIZZA_TRACES)")
	flag.Usage = usage
	flag.Parse()
	logger := slog.New(sfotel.LogHandler(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err := run(options{addr: *addr, db: *db, schema: *schema, failPrefix: *failPrefix, token: *token, traces: *traces}, logger); err != nil {
		if errors.Is(err, sqlitestore.ErrStoreInUse) {
			// Another shop owns the file: two would handle the same orders twice.
			fmt.Fprintf(os.Stderr, "pizza: %v\npizza: stop the other shop on this file, or choose another -db\n", err)
			os.Exit(1)
		}
		logger.Error("pizza: stopped", "error", err)
		os.Exit(1)
	}
}

// shutdownTimeout bounds the graceful stop: longer than the longest request (a
// cancel waits up to shop.CancelTimeoutDefault for its workflow), so that Ctrl-C
// lets every in-flight request finish rather than failing it.
const shutdownTimeout = shop.CancelTimeoutDefault + 10*time.Second

// newShop assembles the shop on backend: telemetry, the admin credentials (user
// admin or the bearer token), the demo's failing creates for failPrefix, and GET
// /metrics.
func newShop(backend shop.Backend, tel *telemetry, token, failPrefix string, logger *slog.Logger) (*shop.Shop, error) {
	cfg, err := operator.Configure(shop.Config{Backend: backend, Logger: logger},
		console.Auth{BearerToken: token, Users: map[string]string{"admin": token}, Realm: "pizza shop"}, tel.inst)
	if err != nil {
		return nil, err
	}
	if failPrefix != "" {
		cfg.FailCreate = func(c shop.CreateOrder) error {
			if strings.HasPrefix(c.Username, failPrefix) {
				return fmt.Errorf("%w: demo failure for %s", errPermanentDemo, c.Username)
			}
			return nil
		}
	}
	s, err := shop.New(cfg)
	if err != nil {
		return nil, err
	}
	s.Mux().Handle("GET /metrics", tel.metrics)
	return s, nil
}

func run(o options, logger *slog.Logger) error {
	addr, db, schema, failPrefix := o.addr, o.db, o.schema, o.failPrefix
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var backend shop.Backend
	var err error
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		backend, err = pgshop.OpenPostgres(ctx, db, schema)
	} else {
		backend, err = sqliteshop.OpenSQLite(ctx, db)
	}
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer backend.Close()

	tel, err := newTelemetry(ctx, o.traces)
	if err != nil {
		return err
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.shutdown(ctx)
	}()
	token, generated := adminToken(o.token)
	s, err := newShop(backend, tel, token, failPrefix, logger)
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
		WriteTimeout: 35 * time.Second, IdleTimeout: 60 * time.Second}
	fmt.Printf("pizza shop listening on http://%s (store: %s; another port: -addr or PIZZA_ADDR)\n", ln.Addr(), backend.Name())
	if generated {
		fmt.Printf("console: http://%s/console/ (user admin, password %s; or Authorization: Bearer %s)\n", ln.Addr(), token, token)
	} else {
		fmt.Printf("console: http://%s/console/ (user admin, password: the admin token)\n", ln.Addr())
	}

	workCtx, stopWork := context.WithCancel(context.Background())
	workDone := make(chan error, 1)
	go func() { workDone <- s.Run(workCtx) }()
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
		logger.Info("pizza: shutting down")
	case err := <-serveDone:
		stopWork()
		<-workDone
		return err
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx) // in-flight requests finish
	stopWork()                      // then the consumers finish or release their work
	return errors.Join(err, <-workDone)
}
