package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// command is a command's help: its synopsis and what it does.
type command struct {
	synopsis    string
	description string
}

// commands are the help of each command, by the name its flag set carries.
var commands = map[string]command{
	"migrate": {"storagefirst migrate -database-url URL [-schema NAME]",
		"Apply the store's migrations (Postgres: pgstore's, in -schema; a SQLite file is migrated when opened, and created if missing)."},
	"queue stats": {"storagefirst queue stats -database-url URL [-schema NAME] -queue NAME [-json]",
		"Print a queue's counts (ready, scheduled, in flight, dead) and the age of its oldest ready envelope (JSON: oldest_ready_age_seconds)."},
	"dlq list": {"storagefirst dlq list SOURCE [FILTERS] [-limit N] [-json]",
		"List the dead letters of SOURCE, with counts by type, code and kind."},
	"dlq show": {"storagefirst dlq show SOURCE -id ENVELOPE_ID [-json]",
		"Show one dead letter: its envelope, payload and every failure."},
	"dlq replay": {"storagefirst dlq replay SOURCE [FILTERS] [TARGET] [-dry-run] [-rate N] [-limit N] [-stop-on-error] [-json]",
		"Put dead letters back to be processed again: in place (a store's queue), or into TARGET (-to-queue, -to-sqs-url, -to-eventbridge-bus); -dry-run shows what would be replayed."},
	"dlq purge": {"storagefirst dlq purge SOURCE -yes",
		"Delete every dead letter of SOURCE for good."},
	"console": {"storagefirst console -database-url URL [-schema NAME] -queues A,B [-addr HOST:PORT] [-token T]",
		"Serve the operator console (queues, dead letters, workflow executions) over a store until interrupted."},
	"bench": {"storagefirst bench [-database-url URL] [-cases put,consume,e2e,wal,sqlite] [-reps N] [-duration D] [-json]",
		"Benchmark pgstore on your Postgres (and sqlitestore on a local file) beside naive baselines: Put and consume throughput, latency, WAL bytes per envelope."},
}

// commandOrder is the order of the commands in the usage.
var commandOrder = []string{"migrate", "queue stats", "dlq list", "dlq show", "dlq replay", "dlq purge", "console", "bench"}

// usage is the help of "storagefirst -h": every command's synopsis, from commands.
var usage = func() string {
	var b strings.Builder
	b.WriteString("storagefirst: operate storagefirst-go stores.\n\nUsage:\n")
	for _, name := range commandOrder {
		args := strings.TrimPrefix(commands[name].synopsis, "storagefirst "+name+" ")
		fmt.Fprintf(&b, "  storagefirst %-11s %s\n", name, args)
	}
	b.WriteString(`
URL is a postgres:// URL, or a SQLite file: a path (pizza.db) or sqlite:PATH.
The Postgres schema defaults to storagefirst; the pizza example's is pizza
(-schema pizza). A SQLite store has one owner: stop the application first.

`)
	b.WriteString(sourceHelp)
	b.WriteString("\nRun \"storagefirst COMMAND -h\" for a command's help; it exits 0.\n")
	return b.String()
}()

// groups are the commands that take a subcommand.
var groups = map[string]string{
	"queue": "Inspect a queue of a store.",
	"dlq":   "Inspect, replay and purge dead letters, in a store (Postgres or SQLite) or in an SQS dead-letter queue.",
}

const sourceHelp = `SOURCE is -database-url URL [-schema NAME] -queue NAME (a store's dead letters:
Postgres, or a SQLite file) or -sqs-url URL [-endpoint-url URL] [-region R] (an
SQS dead-letter queue). FILTERS are -type, -source, -code, -kind, -since and -until.
`

// setUsage makes fs's -h print the command's synopsis, description and flags.
func setUsage(fs *flag.FlagSet) {
	c, ok := commands[fs.Name()]
	if !ok {
		return
	}
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: %s\n\n%s\n\n", c.synopsis, c.description)
		if strings.HasPrefix(fs.Name(), "dlq ") {
			fmt.Fprint(w, sourceHelp+"\n")
		}
		fmt.Fprintln(w, "Flags:")
		fs.PrintDefaults()
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help", "help":
		return true
	}
	return false
}

// groupHelp prints the help of a command group (dlq, queue).
func groupHelp(w io.Writer, group string) {
	fmt.Fprintf(w, "Usage: storagefirst %s COMMAND [flags]\n\n%s\n\nCommands:\n", group, groups[group])
	for _, name := range []string{"list", "show", "replay", "purge", "stats"} {
		if c, ok := commands[group+" "+name]; ok {
			fmt.Fprintf(w, "  %s\n      %s\n", c.synopsis, c.description)
		}
	}
	if group == "dlq" {
		fmt.Fprint(w, "\n"+sourceHelp)
	}
	fmt.Fprintf(w, "\nRun \"storagefirst %s COMMAND -h\" for a command's flags.\n", group)
}
