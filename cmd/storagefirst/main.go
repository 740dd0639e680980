// Command storagefirst operates storagefirst-go stores by hand: it applies pgstore's
// migrations, reports queue statistics, and inspects, replays and purges dead
// letters in Postgres or in SQS.
//
//	storagefirst migrate     -database-url postgres://... [-schema storagefirst]
//	storagefirst queue stats -database-url postgres://... -queue orders [-json]
//	storagefirst dlq list    (-database-url URL -queue NAME | -sqs-url URL) [filters] [-json]
//	storagefirst dlq show    ... -id ENVELOPE_ID
//	storagefirst dlq replay  ... [filters] [-dry-run] [-rate N] [-limit N] [-stop-on-error]
//	storagefirst dlq purge   ... -yes
//	storagefirst console     -database-url postgres://... -queues orders,payments [-addr 127.0.0.1:8081] [-token T]
//
// Install it with go install github.com/storagefirst/storagefirst-go/cmd/storagefirst@latest.
// The database URL may also come from STORAGEFIRST_DATABASE_URL; SQS uses the
// standard AWS configuration (environment, shared files), with -endpoint-url for
// local emulators. Every command takes -h. Exit codes: 0 on success, 1 when the
// operation failed (a replay with failed entries included), 2 for a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

const usage = `storagefirst: operate storagefirst-go stores.

Usage:
  storagefirst migrate     -database-url URL [-schema NAME]
  storagefirst queue stats -database-url URL [-schema NAME] -queue NAME [-json]
  storagefirst dlq list    SOURCE [FILTERS] [-limit N] [-json]
  storagefirst dlq show    SOURCE -id ENVELOPE_ID [-json]
  storagefirst dlq replay  SOURCE [FILTERS] [TARGET] [-dry-run] [-rate N] [-limit N] [-stop-on-error] [-json]
  storagefirst dlq purge   SOURCE -yes
  storagefirst console     -database-url URL [-schema NAME] -queues A,B [-addr HOST:PORT] [-token T]

SOURCE is -database-url URL [-schema NAME] -queue NAME (Postgres dead letters),
or -sqs-url URL [-endpoint-url URL] [-region R] (an SQS dead-letter queue).
FILTERS are -type, -source, -code, -kind, -since and -until.

Run "storagefirst COMMAND -h" for a command's flags.
`

// errUsage marks errors that exit with code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		if err != errUsage && err != flag.ErrHelp {
			fmt.Fprintln(os.Stderr, "storagefirst:", err)
		}
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "storagefirst:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "migrate":
		return migrate(ctx, args[1:], stdout, stderr)
	case "queue":
		if len(args) < 2 || args[1] != "stats" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return queueStats(ctx, args[2:], stdout, stderr)
	case "dlq":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return dlqCommand(ctx, args[1], args[2:], stdout, stderr)
	case "console":
		return consoleCommand(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

// dbFlags are the flags every database command shares.
type dbFlags struct {
	url    string
	schema string
}

func (d *dbFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.url, "database-url", os.Getenv("STORAGEFIRST_DATABASE_URL"), "Postgres URL (default $STORAGEFIRST_DATABASE_URL)")
	fs.StringVar(&d.schema, "schema", pgstore.SchemaDefault, "schema holding the store's tables")
}

func (d *dbFlags) open(ctx context.Context) (*pgstore.Store, func(), error) {
	if d.url == "" {
		return nil, nil, fmt.Errorf("%w: -database-url is required", errUsage)
	}
	pool, err := pgxpool.New(ctx, d.url)
	if err != nil {
		return nil, nil, err
	}
	s, err := pgstore.New(pool, pgstore.Config{Schema: d.schema})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return s, func() { s.Close(); pool.Close() }, nil
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %v\n", fs.Args())
		return errUsage
	}
	return nil
}

func migrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("migrate", stderr)
	var db dbFlags
	db.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	s, closeFn, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema %s is up to date\n", db.schema)
		return nil
	}
	fmt.Fprintf(stdout, "schema %s: applied migrations %v\n", db.schema, applied)
	return nil
}

func queueStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("queue stats", stderr)
	var db dbFlags
	db.register(fs)
	name := fs.String("queue", "", "queue name (required)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(stderr, "-queue is required")
		return errUsage
	}
	s, closeFn, err := db.open(ctx)
	if err != nil {
		return err
	}
	defer closeFn()
	q, err := s.Queue(*name)
	if err != nil {
		return err
	}
	st, err := q.Stats(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"queue": *name, "ready": st.Ready,
			"scheduled": st.Scheduled, "in_flight": st.InFlight, "dead": st.Dead,
			"oldest_ready_age_seconds": st.OldestReadyAge.Seconds()})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tREADY\tSCHEDULED\tIN FLIGHT\tDEAD\tOLDEST READY")
	fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", *name, st.Ready, st.Scheduled, st.InFlight, st.Dead, st.OldestReadyAge.Round(time.Millisecond))
	return tw.Flush()
}
