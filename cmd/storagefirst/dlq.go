package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/schemas"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/storagefirst/storagefirst-go/dlq"
	dlqsqs "github.com/storagefirst/storagefirst-go/dlq/sqs"
	"github.com/storagefirst/storagefirst-go/ingest/eventbridge"
	ingestsqs "github.com/storagefirst/storagefirst-go/ingest/sqs"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// sourceFlags choose the dead letters a dlq command works on.
type sourceFlags struct {
	db          dbFlags
	queue       string
	sqsURL      string
	endpointURL string
	region      string
	sqsProtocol string
}

func (s *sourceFlags) register(fs *flag.FlagSet) {
	s.db.register(fs)
	fs.StringVar(&s.queue, "queue", "", "queue whose dead letters to use (in the -database-url store)")
	fs.StringVar(&s.sqsURL, "sqs-url", "", "SQS dead-letter queue URL (instead of Postgres)")
	fs.StringVar(&s.endpointURL, "endpoint-url", "", "AWS endpoint override, for local emulators")
	fs.StringVar(&s.region, "region", "", "AWS region (default from the AWS configuration)")
	fs.StringVar(&s.sqsProtocol, "sqs-protocol", "json", "SQS protocol: json, or query for emulators that speak only that (goaws)")
}

// session holds what a dlq command opened.
type session struct {
	src      dlq.Source
	queue    cliQueue  // the store's queue whose dead letters are the source
	store    *cliStore // the store, for a -to-queue target
	awsCfg   aws.Config
	sqs      *awssqs.Client
	closeFns []func()
}

// aws returns the session's AWS configuration, loading it for a Postgres source.
func (s *session) aws(ctx context.Context, src *sourceFlags) (aws.Config, error) {
	if s.sqs != nil {
		return s.awsCfg, nil
	}
	return src.aws(ctx)
}

func (s *session) close() {
	for i := len(s.closeFns) - 1; i >= 0; i-- {
		s.closeFns[i]()
	}
}

// open opens the source; mode (readOnly for list and show) applies to a store.
func (s *sourceFlags) open(ctx context.Context, mode openMode) (*session, error) {
	switch {
	case s.sqsURL != "" && s.queue != "":
		return nil, fmt.Errorf("%w: give -queue (Postgres) or -sqs-url, not both", errUsage)
	case s.sqsURL != "":
		cfg, err := s.aws(ctx)
		if err != nil {
			return nil, err
		}
		client := s.sqsClient(cfg)
		return &session{src: &dlqsqs.Source{Client: client, QueueURL: s.sqsURL}, awsCfg: cfg, sqs: client}, nil
	case s.queue != "":
		store, err := s.db.open(ctx, mode)
		if err != nil {
			return nil, err
		}
		q, err := store.Queue(s.queue)
		if err != nil {
			store.close()
			return nil, err
		}
		return &session{src: dlq.FromDeadLetters(q), queue: q, store: store, closeFns: []func(){store.close}}, nil
	}
	return nil, fmt.Errorf("%w: give -queue with -database-url, or -sqs-url", errUsage)
}

func (s *sourceFlags) aws(ctx context.Context) (aws.Config, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if s.region != "" {
		opts = append(opts, awsconfig.WithRegion(s.region))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return cfg, fmt.Errorf("AWS configuration: %w", err)
	}
	if s.endpointURL != "" {
		cfg.BaseEndpoint = aws.String(s.endpointURL)
	}
	return cfg, nil
}

func (s *sourceFlags) sqsClient(cfg aws.Config) *awssqs.Client {
	return awssqs.NewFromConfig(cfg, func(o *awssqs.Options) {
		if s.sqsProtocol == "query" {
			o.Protocol = awsquery.New(schemas.AmazonSQS)
		}
	})
}

// filterFlags select entries.
type filterFlags struct {
	typ, source, code, kind, since, until string
}

func (f *filterFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.typ, "type", "", "only envelopes of this type")
	fs.StringVar(&f.source, "source", "", "only envelopes from this source")
	fs.StringVar(&f.code, "code", "", "only dead letters whose last error has this code")
	fs.StringVar(&f.kind, "kind", "", "only dead letters of this kind (storagefirst, lambda-destination, eventbridge-target, stepfunctions-catch, sqs-redrive, unknown)")
	fs.StringVar(&f.since, "since", "", "only dead letters since this time (RFC 3339, or a duration ago such as 24h)")
	fs.StringVar(&f.until, "until", "", "only dead letters before this time (RFC 3339, or a duration ago)")
}

func (f *filterFlags) filter(now time.Time) (dlq.Filter, error) {
	out := dlq.Filter{Type: f.typ, Source: f.source, Code: f.code, Kind: dlq.Kind(f.kind)}
	var err error
	if out.Since, err = parseWhen(f.since, now); err != nil {
		return out, fmt.Errorf("%w: -since: %v", errUsage, err)
	}
	if out.Until, err = parseWhen(f.until, now); err != nil {
		return out, fmt.Errorf("%w: -until: %v", errUsage, err)
	}
	return out, nil
}

func parseWhen(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	return time.Parse(time.RFC3339, s)
}

// openFiltered parses a command's flags, its filter, and opens its source.
func openFiltered(ctx context.Context, mode openMode, fs *flag.FlagSet, args []string, src *sourceFlags, ff *filterFlags) (*session, dlq.Filter, error) {
	if err := parse(fs, args); err != nil {
		return nil, dlq.Filter{}, err
	}
	f, err := ff.filter(time.Now())
	if err != nil {
		return nil, f, err
	}
	sess, err := src.open(ctx, mode)
	return sess, f, err
}

func dlqCommand(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	switch sub {
	case "list":
		return dlqList(ctx, args, stdout, stderr)
	case "show":
		return dlqShow(ctx, args, stdout, stderr)
	case "replay":
		return dlqReplay(ctx, args, stdout, stderr)
	case "purge":
		return dlqPurge(ctx, args, stdout, stderr)
	}
	fmt.Fprintf(stderr, "unknown dlq command %q\n\n", sub)
	groupHelp(stderr, "dlq")
	return errUsage
}

// entryJSON is how -json shows an entry.
type entryJSON struct {
	Kind       dlq.Kind               `json:"kind"`
	Envelope   storagefirst.Envelope  `json:"envelope"`
	Failures   []storagefirst.Failure `json:"failures"`
	DeadAt     time.Time              `json:"dead_at,omitzero"`
	MessageID  string                 `json:"message_id,omitempty"`
	Raw        string                 `json:"raw,omitempty"`
	Attributes map[string]string      `json:"attributes,omitempty"`
}

func toJSON(e dlq.Entry, full bool) entryJSON {
	j := entryJSON{Kind: e.Kind, Envelope: e.Envelope, Failures: e.Failures, DeadAt: e.DeadAt, MessageID: e.MessageID}
	if full {
		j.Raw, j.Attributes = string(e.Raw), e.Attributes
	}
	return j
}

func dlqList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dlq list", stderr)
	var src sourceFlags
	var ff filterFlags
	src.register(fs)
	ff.register(fs)
	limit := fs.Int("limit", 1000, "list at most this many (0: all, which reads the whole DLQ into memory)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	sess, f, err := openFiltered(ctx, readOnly, fs, args, &src, &ff)
	if err != nil {
		return err
	}
	defer sess.close()
	entries, err := dlq.List(ctx, sess.src, f, *limit)
	if err != nil {
		return err
	}
	counts := dlq.Count(entries)
	if *asJSON {
		out := struct {
			Entries []entryJSON `json:"entries"`
			Counts  dlq.Counts  `json:"counts"`
		}{Entries: []entryJSON{}, Counts: counts}
		for _, e := range entries {
			out.Entries = append(out.Entries, toJSON(e, false))
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tKIND\tATTEMPTS\tDEAD AT\tERROR")
	for _, e := range entries {
		last := e.LastFailure()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", e.Envelope.ID, e.Envelope.Type, e.Kind, last.Attempt,
			e.DeadAt.Format(time.RFC3339), oneLine(dlq.ErrorKey(e), 70))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d dead letters\n", counts.Total)
	for _, k := range dlq.SortedKeys(counts.ByError) {
		fmt.Fprintf(stdout, "  %5d  %s\n", counts.ByError[k], k)
	}
	return nil
}

func oneLine(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > n {
		return s[:n-3] + "..."
	}
	return s
}

func dlqShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dlq show", stderr)
	var src sourceFlags
	src.register(fs)
	id := fs.String("id", "", "envelope ID to show (required)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *id == "" {
		fmt.Fprintln(stderr, "-id is required")
		return errUsage
	}
	sess, err := src.open(ctx, readOnly)
	if err != nil {
		return err
	}
	defer sess.close()
	entries, err := dlq.List(ctx, sess.src, dlq.Filter{IDs: []string{*id}}, 1)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("no dead letter with envelope ID %s", *id)
	}
	e := entries[0]
	if *asJSON {
		return json.NewEncoder(stdout).Encode(toJSON(e, true))
	}
	env := e.Envelope
	tw := tabwriter.NewWriter(stdout, 0, 4, 1, ' ', 0)
	for _, row := range [][2]string{{"ID", env.ID}, {"Type", env.Type}, {"Source", env.Source}, {"Kind", string(e.Kind)},
		{"Accepted at", env.AcceptedAt.Format(time.RFC3339Nano)}, {"Dead at", e.DeadAt.Format(time.RFC3339Nano)},
		{"Idempotency key", env.Key()}, {"Correlation ID", env.CorrelationID}} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Failures:")
	for _, f := range e.Failures {
		where := strings.TrimSpace(strings.Join([]string{f.Code, f.Origin}, " "))
		if where != "" {
			where = " [" + where + "]"
		}
		fmt.Fprintf(stdout, "  #%d %s %s%s: %s\n", f.Attempt, f.At.Format(time.RFC3339), f.Class, where, f.Error)
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, env.Payload, "  ", "  ") != nil {
		pretty.Reset()
		pretty.Write(env.Payload)
	}
	fmt.Fprintf(stdout, "Payload:\n  %s\n", pretty.String())
	return nil
}

func dlqReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dlq replay", stderr)
	var src sourceFlags
	var ff filterFlags
	src.register(fs)
	ff.register(fs)
	dryRun := fs.Bool("dry-run", false, "show what would be replayed; change nothing")
	rate := fs.Float64("rate", 0, "replay at most this many per second (0: no limit)")
	limit := fs.Int("limit", 0, "replay at most this many (0: all)")
	stopOnError := fs.Bool("stop-on-error", false, "stop at the first entry that cannot be replayed")
	toQueue := fs.String("to-queue", "", "queue of the -database-url store to replay into (default: in place, back into -queue)")
	toSQS := fs.String("to-sqs-url", "", "SQS queue to replay into (for an SQS source)")
	toBus := fs.String("to-eventbridge-bus", "", "EventBridge bus to replay into (for an SQS source)")
	ebSource := fs.String("eventbridge-source", "", "event source for envelopes without one (with -to-eventbridge-bus)")
	move := fs.Bool("move", false, "SQS redrive DLQs: start an SQS message move task back to the source queue instead")
	dlqARN := fs.String("dlq-arn", "", "the DLQ's ARN (with -move)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	sess, f, err := openFiltered(ctx, readWrite, fs, args, &src, &ff)
	if err != nil {
		return err
	}
	defer sess.close()

	if *move {
		if sess.sqs == nil || *dlqARN == "" {
			return fmt.Errorf("%w: -move needs -sqs-url and -dlq-arn", errUsage)
		}
		handle, err := dlqsqs.MoveBack(ctx, sess.sqs, src.sqsURL, *dlqARN, dlqsqs.MoveOptions{MaxPerSecond: int32(*rate)})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "started message move task %s\n", handle)
		return nil
	}

	var sink storagefirst.Sink
	switch {
	case *toQueue != "" && sess.queue != nil && *toQueue == sess.queue.Name():
		// In place: a Put into the dead letters' own queue would be a duplicate of
		// each dead letter (a Put never revives one), so requeue instead.
	case *toQueue != "":
		if sess.store == nil {
			return fmt.Errorf("%w: -to-queue needs a store source (-database-url with -queue)", errUsage)
		}
		q, err := sess.store.Queue(*toQueue)
		if err != nil {
			return err
		}
		sink = q
	case *toSQS != "":
		cfg, err := sess.aws(ctx, &src)
		if err != nil {
			return err
		}
		s, err := ingestsqs.NewSink(src.sqsClient(cfg), ingestsqs.SinkConfig{QueueURL: *toSQS})
		if err != nil {
			return err
		}
		defer s.Close()
		sink = s
	case *toBus != "":
		cfg, err := sess.aws(ctx, &src)
		if err != nil {
			return err
		}
		s, err := eventbridge.NewSink(awseb.NewFromConfig(cfg), eventbridge.SinkConfig{EventBusName: *toBus, Source: *ebSource})
		if err != nil {
			return err
		}
		defer s.Close()
		sink = s
	case sess.queue == nil:
		return fmt.Errorf("%w: an SQS source needs a target: -to-sqs-url, -to-eventbridge-bus or -move", errUsage)
	}

	start := time.Now()
	var mu sync.Mutex
	var last dlq.Summary
	done := make(chan struct{})
	go progress(done, stderr, start, func() dlq.Summary { mu.Lock(); defer mu.Unlock(); return last })
	sum, rerr := dlq.Replay(ctx, sess.src, sink, dlq.ReplayOptions{Filter: f, DryRun: *dryRun, RatePerSecond: *rate,
		Limit: *limit, StopOnError: *stopOnError, Progress: func(s dlq.Summary) { mu.Lock(); last = s; mu.Unlock() }})
	close(done)

	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(sum); err != nil {
			return err
		}
	} else {
		verb := "replayed"
		if sum.DryRun {
			verb = "would replay"
		}
		fmt.Fprintf(stdout, "%s %d, skipped %d, failed %d in %s\n", verb, sum.Replayed, sum.Skipped, sum.Failed,
			time.Since(start).Round(time.Millisecond))
		for _, e := range sum.Errors {
			fmt.Fprintf(stdout, "  %s\n", e)
		}
	}
	if rerr != nil {
		return rerr
	}
	if sum.Failed > 0 {
		return errors.New("some dead letters could not be replayed; run the replay again")
	}
	return nil
}

// progress prints a progress line every second once a replay has run for one.
func progress(done <-chan struct{}, w io.Writer, start time.Time, get func() dlq.Summary) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			s := get()
			el := time.Since(start)
			fmt.Fprintf(w, "replaying: %d replayed, %d skipped, %d failed (%.1f/s)\n", s.Replayed, s.Skipped, s.Failed,
				float64(s.Replayed)/el.Seconds())
		}
	}
}

func dlqPurge(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dlq purge", stderr)
	var src sourceFlags
	src.register(fs)
	yes := fs.Bool("yes", false, "really delete every dead letter of the source")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*yes {
		fmt.Fprintln(stderr, "purge deletes every dead letter for good; add -yes to confirm")
		return errUsage
	}
	sess, err := src.open(ctx, readWrite)
	if err != nil {
		return err
	}
	defer sess.close()
	n, err := sess.src.Purge(ctx)
	if err != nil {
		return err
	}
	if n < 0 {
		fmt.Fprintln(stdout, "purged the queue")
	} else {
		fmt.Fprintf(stdout, "purged %d dead letters\n", n)
	}
	return nil
}
