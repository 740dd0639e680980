package sqs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/internal/sqstext"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// SQS defaults.
const (
	// VisibilityTimeoutDefault hides the messages a Read returns while they are
	// replayed or listed.
	VisibilityTimeoutDefault = 60 * time.Second
	// WaitTimeDefault is the long poll of each Read; SQS's short polls may answer
	// empty while messages remain.
	WaitTimeDefault = time.Second
	// maxFailuresAttribute bounds the failure history written into an attribute.
	maxFailuresAttribute = 32 << 10
)

// SendMessageAPI is the part of the SQS client Destination uses.
type SendMessageAPI interface {
	SendMessage(ctx context.Context, in *awssqs.SendMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error)
}

// Destination sends dead letters to an SQS queue: the envelope's JSON as the
// body, the failure in message attributes (storagefirst-error-class,
// -error-code, -error, -attempts, -first-failed-at, -last-failed-at, -origin and
// the whole history in -failures), which dlq.Decode reads back.
type Destination struct {
	Client   SendMessageAPI
	QueueURL string
}

var _ dlq.Destination = Destination{}

// SendDeadLetter sends dl and returns once SQS has accepted it.
func (d Destination) SendDeadLetter(ctx context.Context, dl storagefirst.DeadLetter) error {
	body, err := json.Marshal(dl.Envelope)
	if err != nil {
		return err
	}
	// Characters SQS refuses travel as JSON escapes; free text is sanitised; an
	// identity SQS would refuse is left out of the attributes (the body has it).
	body = sqstext.EscapeJSON(body)
	last, first := storagefirst.Failure{}, storagefirst.Failure{}
	if n := len(dl.Failures); n > 0 {
		last, first = dl.Failures[n-1], dl.Failures[0]
	}
	history := dl.Failures
	fails, _ := json.Marshal(history)
	for len(fails) > maxFailuresAttribute && len(history) > 1 {
		history = history[1:]
		fails, _ = json.Marshal(history)
	}
	attrs := map[string]types.MessageAttributeValue{}
	set := func(name, v string) {
		if v != "" && sqstext.Valid(v) {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	set(dlq.AttrID, dl.Envelope.ID)
	set(dlq.AttrType, dl.Envelope.Type)
	class := last.Class
	if class == "" {
		class = storagefirst.ClassPermanent.String()
	}
	set(dlq.AttrErrorClass, class)
	set(dlq.AttrErrorCode, sqstext.Sanitize(last.Code))
	set(dlq.AttrError, sqstext.Sanitize(truncate(last.Error, 4096)))
	set(dlq.AttrAttempts, strconv.Itoa(max(last.Attempt, dl.Envelope.Attempt)))
	if !first.At.IsZero() {
		set(dlq.AttrFirstFailedAt, first.At.UTC().Format(time.RFC3339Nano))
	}
	if !last.At.IsZero() {
		set(dlq.AttrLastFailedAt, last.At.UTC().Format(time.RFC3339Nano))
	}
	set(dlq.AttrOrigin, sqstext.Sanitize(last.Origin))
	set(dlq.AttrFailures, string(sqstext.EscapeJSON(fails)))
	_, err = d.Client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(d.QueueURL),
		MessageBody: aws.String(string(body)), MessageAttributes: attrs})
	if err != nil {
		return fmt.Errorf("dlq: send to %s: %w", d.QueueURL, err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ReceiveDeleteAPI is the part of the SQS client Source uses.
type ReceiveDeleteAPI interface {
	ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *awssqs.DeleteMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.DeleteMessageOutput, error)
	PurgeQueue(ctx context.Context, in *awssqs.PurgeQueueInput, optFns ...func(*awssqs.Options)) (*awssqs.PurgeQueueOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *awssqs.ChangeMessageVisibilityBatchInput, optFns ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *awssqs.ChangeMessageVisibilityInput, optFns ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityOutput, error)
}

// Source reads an SQS dead-letter queue of any origin, decoding each message
// with dlq.Decode. It is a dlq.Holder: a Read receives messages and so hides them
// for VisibilityTimeout, which keeps one pass from reading a message twice; Hold
// extends that while a slow replay works through them, Delete deletes with the
// receipt handle of the latest receive, and Release (which dlq.List and
// dlq.Replay call when they finish, and Read when a pass ends) makes every
// message read and not deleted visible again at once, so that inspecting a
// dead-letter queue changes nothing. A Source is for one pass at a time.
type Source struct {
	Client   ReceiveDeleteAPI
	QueueURL string
	// VisibilityTimeout: see VisibilityTimeoutDefault. dlq.Replay holds what it
	// read every 5 s, or every third of it when that is shorter (HoldInterval).
	VisibilityTimeout time.Duration
	// WaitTime: see WaitTimeDefault; negative means no long poll.
	WaitTime time.Duration

	mu   sync.Mutex
	held map[string]held // by message ID
	// single is set once a ChangeMessageVisibilityBatch request failed as a whole:
	// the rest of the pass changes visibility one message at a time.
	single bool
}

// held is a message read and neither deleted nor released.
type held struct {
	handle   string
	deadline time.Time
}

var (
	_ dlq.Source = (*Source)(nil)
	_ dlq.Holder = (*Source)(nil)
)

func (s *Source) visibility() time.Duration {
	if s.VisibilityTimeout <= 0 {
		return VisibilityTimeoutDefault
	}
	return s.VisibilityTimeout
}

// Read receives up to n (at most 10) messages and decodes them. A Read that
// receives nothing ends the pass and releases what it read.
func (s *Source) Read(ctx context.Context, n int) ([]dlq.Entry, error) {
	vis := s.visibility()
	wait := s.WaitTime
	if wait == 0 {
		wait = WaitTimeDefault
	}
	out, err := s.Client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl: aws.String(s.QueueURL), MaxNumberOfMessages: int32(min(max(n, 1), 10)),
		VisibilityTimeout: int32(max(vis/time.Second, 1)), WaitTimeSeconds: int32(max(wait, 0) / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		return nil, err
	}
	if len(out.Messages) == 0 {
		return nil, s.Release(ctx)
	}
	deadline := time.Now().Add(vis)
	es := make([]dlq.Entry, len(out.Messages))
	s.mu.Lock()
	if s.held == nil {
		s.held = map[string]held{}
	}
	for i, m := range out.Messages {
		es[i] = dlq.Decode(ToMessage(m))
		s.held[aws.ToString(m.MessageId)] = held{handle: aws.ToString(m.ReceiptHandle), deadline: deadline}
	}
	s.mu.Unlock()
	return es, nil
}

// holdMargin: Hold extends a message's visibility once less than this (or half
// the visibility timeout) is left.
const holdMargin = 10 * time.Second

// HoldInterval is a third of the visibility timeout: how often dlq.Replay
// holds what it read when that is less than every 5 s (dlq.HoldPacer).
func (s *Source) HoldInterval() time.Duration { return s.visibility() / 3 }

// Hold extends the visibility of es, read and not yet handled, when it is close
// to running out, in ChangeMessageVisibilityBatch requests of up to 10.
func (s *Source) Hold(ctx context.Context, es []dlq.Entry) error {
	vis := s.visibility()
	now := time.Now()
	var due []visChange
	s.mu.Lock()
	for _, e := range es {
		if h, ok := s.held[e.MessageID]; ok && h.deadline.Sub(now) < max(vis/2, holdMargin) {
			due = append(due, visChange{id: e.MessageID, handle: h.handle})
		}
	}
	s.mu.Unlock()
	done, err := s.changeVisibility(ctx, due, vis)
	s.mu.Lock()
	for _, c := range done {
		if cur, ok := s.held[c.id]; ok && cur.handle == c.handle {
			s.held[c.id] = held{handle: c.handle, deadline: now.Add(vis)}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("dlq: keep hidden: %w", err)
	}
	return nil
}

// Release makes every message read and not deleted visible again at once, in
// ChangeMessageVisibilityBatch requests of up to 10. A message no longer in flight
// under its handle (deleted, or its visibility ran out) needs nothing.
func (s *Source) Release(ctx context.Context) error {
	s.mu.Lock()
	hs := s.held
	s.held = nil
	s.mu.Unlock()
	cs := make([]visChange, 0, len(hs))
	for id, h := range hs {
		cs = append(cs, visChange{id: id, handle: h.handle})
	}
	if _, err := s.changeVisibility(ctx, cs, 0); err != nil {
		return fmt.Errorf("dlq: make visible again: %w", err)
	}
	return nil
}

// visChange is one message's visibility change.
type visChange struct{ id, handle string }

// visBatch is the most entries of a ChangeMessageVisibilityBatch request.
const visBatch = 10

// changeVisibility sets the visibility timeout of cs in batches of visBatch and
// returns the changes that took. An entry that fails because its message is gone
// is neither done nor an error; any other failure of an entry is in the error,
// and the other batches are still sent. When a batch request fails as a whole
// (an SQS-compatible endpoint that does not speak it, say), its messages and those
// of the rest of the pass are changed one ChangeMessageVisibility at a time.
func (s *Source) changeVisibility(ctx context.Context, cs []visChange, timeout time.Duration) ([]visChange, error) {
	var done []visChange
	var errs []error
	for len(cs) > 0 {
		chunk := cs[:min(len(cs), visBatch)]
		cs = cs[len(chunk):]
		s.mu.Lock()
		single := s.single
		s.mu.Unlock()
		var out *awssqs.ChangeMessageVisibilityBatchOutput
		if !single {
			in := &awssqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(s.QueueURL)}
			for i, c := range chunk {
				in.Entries = append(in.Entries, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
					ReceiptHandle: aws.String(c.handle), VisibilityTimeout: int32(timeout / time.Second)})
			}
			var err error
			if out, err = s.Client.ChangeMessageVisibilityBatch(ctx, in); err != nil {
				if ctx.Err() != nil {
					errs = append(errs, fmt.Errorf("%d messages: %w", len(chunk), err))
					continue
				}
				s.mu.Lock()
				s.single = true
				s.mu.Unlock()
				single = true
			}
		}
		if single {
			for _, c := range chunk {
				_, err := s.Client.ChangeMessageVisibility(ctx, &awssqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(s.QueueURL),
					ReceiptHandle: aws.String(c.handle), VisibilityTimeout: int32(timeout / time.Second)})
				switch {
				case err == nil:
					done = append(done, c)
				case !gone(err):
					errs = append(errs, fmt.Errorf("%s: %w", c.id, err))
				}
			}
			continue
		}
		for _, ok := range out.Successful {
			if i, err := strconv.Atoi(aws.ToString(ok.Id)); err == nil && i >= 0 && i < len(chunk) {
				done = append(done, chunk[i])
			}
		}
		for _, f := range out.Failed {
			i, err := strconv.Atoi(aws.ToString(f.Id))
			if err != nil || i < 0 || i >= len(chunk) {
				errs = append(errs, fmt.Errorf("entry %q: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
				continue
			}
			if goneCode(aws.ToString(f.Code)) {
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %s: %s", chunk[i].id, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	return done, errors.Join(errs...)
}

// gone reports whether err says the message is no longer in flight under that
// handle (deleted, or its visibility ran out): nothing to release.
func gone(err error) bool {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return false
	}
	return goneCode(ae.ErrorCode())
}

// goneCode reports whether an SQS error code says the message is no longer in
// flight under that receipt handle.
func goneCode(code string) bool {
	switch strings.TrimPrefix(code, "AWS.SimpleQueueService.") {
	case "MessageNotInflight", "MessageNotInFlight", "ReceiptHandleIsInvalid", "InvalidParameterValue":
		return true
	}
	return false
}

// ToMessage converts a received SQS message for dlq.Decode.
func ToMessage(m types.Message) dlq.Message {
	attrs := map[string]string{}
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil {
			attrs[k] = *v.StringValue
		}
	}
	return dlq.Message{MessageID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: attrs,
		ReceiptHandle: aws.ToString(m.ReceiptHandle)}
}

// Delete deletes the message, with the receipt handle of its latest receive.
func (s *Source) Delete(ctx context.Context, e dlq.Entry) error {
	handle := e.Handle
	s.mu.Lock()
	if h, ok := s.held[e.MessageID]; ok {
		handle = h.handle
	}
	s.mu.Unlock()
	_, err := s.Client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(s.QueueURL), ReceiptHandle: aws.String(handle)})
	if err == nil {
		s.mu.Lock()
		delete(s.held, e.MessageID)
		s.mu.Unlock()
	}
	return err
}

// Purge purges the queue. SQS does not say how many messages went: it returns -1.
func (s *Source) Purge(ctx context.Context) (int64, error) {
	_, err := s.Client.PurgeQueue(ctx, &awssqs.PurgeQueueInput{QueueUrl: aws.String(s.QueueURL)})
	return -1, err
}

// MoveAPI is the part of the SQS client MoveBack uses.
type MoveAPI interface {
	ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	StartMessageMoveTask(ctx context.Context, in *awssqs.StartMessageMoveTaskInput, optFns ...func(*awssqs.Options)) (*awssqs.StartMessageMoveTaskOutput, error)
}

// MoveOptions configures MoveBack.
type MoveOptions struct {
	// DestinationARN is where to move; empty means each message's source queue.
	DestinationARN string
	// MaxPerSecond bounds the move rate; zero lets SQS choose.
	MaxPerSecond int32
}

// MoveBack starts an SQS message move task from the dead-letter queue (dlqURL,
// dlqARN) back to its source: the fast path for a DLQ fed by an SQS redrive
// policy. It first peeks at one message and refuses, with dlq.ErrMoveNotApplicable,
// a DLQ fed by EventBridge, a Lambda destination, Step Functions or a Destination:
// those need dlq.Replay. It returns the task handle.
func MoveBack(ctx context.Context, client MoveAPI, dlqURL, dlqARN string, opts MoveOptions) (string, error) {
	out, err := client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: aws.String(dlqURL), MaxNumberOfMessages: 1,
		VisibilityTimeout: 0, MessageAttributeNames: []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
	if err != nil {
		return "", fmt.Errorf("dlq: peek: %w", err)
	}
	if len(out.Messages) == 0 {
		return "", dlq.ErrEmpty
	}
	if k := dlq.Decode(ToMessage(out.Messages[0])).Kind; k != dlq.KindSQSRedrive {
		return "", fmt.Errorf("%w: its messages are %s dead letters, not moved there by an SQS redrive policy; use replay", dlq.ErrMoveNotApplicable, k)
	}
	in := &awssqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}
	if opts.DestinationARN != "" {
		in.DestinationArn = aws.String(opts.DestinationARN)
	}
	if opts.MaxPerSecond > 0 {
		in.MaxNumberOfMessagesPerSecond = aws.Int32(opts.MaxPerSecond)
	}
	res, err := client.StartMessageMoveTask(ctx, in)
	if err != nil {
		return "", fmt.Errorf("dlq: start message move task: %w", err)
	}
	return aws.ToString(res.TaskHandle), nil
}
