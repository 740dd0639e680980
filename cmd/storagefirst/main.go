// Command storagefirst operates storagefirst-go stores by hand: it applies pgstore's
// migrations, reports queue statistics, inspects, replays and purges dead letters
// in Postgres or in SQS, and benchmarks pgstore on your own database.
//
//	storagefirst migrate     -database-url postgres://... [-schema storagefirst]
//	storagefirst dlq list    -database-url pizza.db -queue create-order   # a SQLite store
//	storagefirst queue stats -database-url postgres://... -queue orders [-json]
//	storagefirst dlq list    (-database-url URL -queue NAME | -sqs-url URL) [filters] [-json]
//	storagefirst dlq show    ... -id ENVELOPE_ID
//	storagefirst dlq replay  ... [filters] [-dry-run] [-rate N] [-limit N] [-stop-on-error]
//	storagefirst dlq purge   ... -yes
//	storagefirst console     -database-url URL -queues orders,payments [-addr 127.0.0.1:8081] [-token T]
//	storagefirst bench       [-database-url URL] [-cases put,consume,e2e,wal,sqlite] [-reps 3] [-duration 3s] [-json]
//
// Install it with go install github.com/storagefirst/storagefirst-go/cmd/storagefirst@latest.
// The database URL may also come from STORAGEFIRST_DATABASE_URL; SQS uses the
// standard AWS configuration (environment, shared files), with -endpoint-url for
// local emulators. Every command takes -h (its help; exit code 0). Exit codes: 0 on success, 1 when the
// operation failed (a replay with failed entries included), 2 for a usage error.
//
// # bench
//
// storagefirst bench measures pgstore against the Postgres you name (and
// sqlitestore on a local file) beside naive baselines, and prints a table
// (-json=false) or JSON lines: one per measurement, then one per summary row. It
// states the date, machine, Postgres version and durability settings it ran
// under; every case runs -reps times (default 3), interleaved with its baseline
// (same pool size), and the summary gives medians, the spread and the median of
// the per-repetition ratios to the baseline. Every Postgres case runs in a schema
// of its own (bench_<random>), dropped at the end. Cases:
//
//   - put: Put from 1, 16 and 64 concurrent callers (~300-byte payloads), group
//     commit beside a naive one-INSERT-per-call baseline: envelopes/s and p50/p99
//     acknowledgement latency.
//   - consume: a Consumer draining pre-inserted envelopes with a no-op handler, and
//     behind the Idempotent middleware writing an effect row with the record and
//     the acknowledgement in the handler's transaction (CompleteFromContext) or in
//     one round trip (CompleteBatch), beside a hand-written consumer taking one row
//     per transaction and writing the effect in it.
//   - e2e: -e2e-rate envelopes/s for -e2e-duration; time from Put returning to the
//     handler starting, signed (negative when the handler started first), and the
//     achieved rate beside the target.
//   - wal: WAL bytes written per envelope by Put, beside a bare row holding the same
//     payload inserted the same way.
//   - sqlite: sqlitestore Put and consume beside plain SQLite on the same file
//     settings (WAL, synchronous=FULL, one writing connection).
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
)

// errUsage marks errors that exit with code 2.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp): // -h: the help was asked for and printed
	case errors.Is(err, errUsage):
		if err != errUsage {
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
		if len(args) >= 2 && isHelp(args[1]) {
			groupHelp(stdout, "queue")
			return nil
		}
		if len(args) < 2 || args[1] != "stats" {
			groupHelp(stderr, "queue")
			return errUsage
		}
		return queueStats(ctx, args[2:], stdout, stderr)
	case "dlq":
		if len(args) >= 2 && isHelp(args[1]) {
			groupHelp(stdout, "dlq")
			return nil
		}
		if len(args) < 2 {
			groupHelp(stderr, "dlq")
			return errUsage
		}
		return dlqCommand(ctx, args[1], args[2:], stdout, stderr)
	case "console":
		return consoleCommand(ctx, args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	setUsage(fs)
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
	s, err := db.open(ctx, create)
	if err != nil {
		return err
	}
	defer s.close()
	applied, err := s.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s is up to date\n", s.name)
		return nil
	}
	fmt.Fprintf(stdout, "%s: applied migrations %v\n", s.name, applied)
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
	s, err := db.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer s.close()
	q, err := s.Queue(*name)
	if err != nil {
		return err
	}
	st, err := q.Stats(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		// The one JSON shape of QueueStats (its MarshalJSON), with the queue's name.
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		var out map[string]any
		if err := json.Unmarshal(b, &out); err != nil {
			return err
		}
		out["queue"] = *name
		return json.NewEncoder(stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUEUE\tREADY\tSCHEDULED\tIN FLIGHT\tDEAD\tOLDEST READY")
	fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\n", *name, st.Ready, st.Scheduled, st.InFlight, st.Dead, st.OldestReadyAge.Round(time.Millisecond))
	return tw.Flush()
}
