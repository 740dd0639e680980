// Package awsfake is an httptest server that speaks the AWS JSON protocols of the
// calls storagefirst-go makes, so that tests run the real aws-sdk-go-v2 clients,
// with their serialisation, retries and partial failures, without AWS:
//
//   - EventBridge PutEvents (JSON 1.1, AWSEvents.PutEvents),
//   - Kinesis PutRecords (JSON 1.1, Kinesis_20131202.PutRecords),
//   - SQS SendMessageBatch, ReceiveMessage (of what was sent or added, without
//     visibility timeouts: ChangeMessageVisibility only checks the receipt
//     handle), DeleteMessage and StartMessageMoveTask (recorded) (JSON 1.0),
//   - Step Functions StartSyncExecution (JSON 1.0, AWSStepFunctions.StartSyncExecution),
//     answered by a function the test sets.
//
// The fake enforces the documented limits of each call (entry counts, entry and
// request sizes, attribute counts; see Limits) and answers a request that breaks
// one with the error AWS answers, so that a sink that overruns a limit fails its
// tests. Faults are injected per operation: whole requests fail (throttling, 5xx), or
// single entries fail with the error code of your choice, the partial failures
// (HTTP 200 with FailedEntryCount) that the storage-first sinks must handle. What
// was accepted is recorded for assertions.
//
// Point a client at it with the client's BaseEndpoint option and Config.
//
// # Where it sits
//
// awsfake is a test kit for the AWS adapters (ingest/eventbridge, ingest/sqs,
// ingest/kinesis, workflow/sfn, dlq/sqs) and for your own wiring of them; it
// imports the AWS SDK's core and no package of this module, and no package of the
// library imports it.
package awsfake

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Operations, as named by the X-Amz-Target header.
const (
	OpPutEvents          = "AWSEvents.PutEvents"
	OpPutRecords         = "Kinesis_20131202.PutRecords"
	OpSendMessageBatch   = "AmazonSQS.SendMessageBatch"
	OpStartSyncExecution = "AWSStepFunctions.StartSyncExecution"
	OpReceiveMessage     = "AmazonSQS.ReceiveMessage"
	OpStartMessageMove   = "AmazonSQS.StartMessageMoveTask"
	OpDeleteMessage      = "AmazonSQS.DeleteMessage"
	OpChangeVisibility   = "AmazonSQS.ChangeMessageVisibility"
	// OpChangeVisibilityBatch is SQS ChangeMessageVisibilityBatch.
	OpChangeVisibilityBatch = "AmazonSQS.ChangeMessageVisibilityBatch"
	// OpSendMessage is SQS SendMessage.
	OpSendMessage = "AmazonSQS.SendMessage"
)

// Entry is one entry of a batch call, offered to an EntryFault.
type Entry struct {
	// Op is the operation.
	Op string
	// Key identifies the entry's content across retries: the event's Detail, the
	// record's Data, the message's Body.
	Key string
	// Seen is how many times an entry with this Key was sent before (0 the first
	// time), so a fault can fail only first attempts.
	Seen int
}

// EntryFault decides whether an entry fails: a non-empty code fails it with that
// error code and message (for SQS, senderFault says whose fault it is).
type EntryFault func(e Entry) (code, message string, senderFault bool)

// Event is an accepted PutEvents entry.
type Event struct {
	EventID      string
	EventBusName string
	Source       string
	DetailType   string
	Detail       string
	Time         time.Time
}

// Record is an accepted PutRecords record.
type Record struct {
	Stream       string
	PartitionKey string
	Data         []byte
	Sequence     string
}

// Message is an accepted SendMessageBatch entry.
type Message struct {
	QueueURL   string
	MessageID  string
	Body       string
	Attributes map[string]string
	GroupID    string
	DedupID    string
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	srv *httptest.Server

	mu        sync.Mutex
	calls     map[string]int
	seen      map[string]int
	wholeFail map[string][]wholeFault
	entryFail map[string]EntryFault
	events    []Event
	records   []Record
	messages  []Message
	// hiddenTill is when a received message becomes visible again, by message ID.
	hiddenTill map[string]time.Time
	nextID     int
	sync       func(input StartSyncInput) StartSyncOutput
	moves      []MoveTask
	limits     Limits
}

// MoveTask is a recorded StartMessageMoveTask call.
type MoveTask struct {
	SourceArn, DestinationArn string
	MaxPerSecond              int
	TaskHandle                string
}

// AddMessage puts a message on a queue, as if something else had sent it (for
// example a dead letter written by AWS, with its attributes).
func (s *Server) AddMessage(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	if m.MessageID == "" {
		m.MessageID = fmt.Sprintf("msg-%08d", s.nextID)
	}
	s.messages = append(s.messages, m)
}

// MoveTasks returns the recorded StartMessageMoveTask calls.
func (s *Server) MoveTasks() []MoveTask {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]MoveTask(nil), s.moves...)
}

func (s *Server) receiveMessage(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl            string
		MaxNumberOfMessages int
		VisibilityTimeout   int
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	type attr struct{ DataType, StringValue string }
	type msg struct {
		MessageId, ReceiptHandle, Body, MD5OfBody string
		MessageAttributes                         map[string]attr `json:",omitempty"`
	}
	out := struct{ Messages []msg }{Messages: []msg{}}
	s.mu.Lock()
	now := time.Now()
	for _, m := range s.messages {
		if m.QueueURL != in.QueueUrl || len(out.Messages) >= max(in.MaxNumberOfMessages, 1) || now.Before(s.hiddenTill[m.MessageID]) {
			continue
		}
		if in.VisibilityTimeout > 0 {
			s.hiddenTill[m.MessageID] = now.Add(time.Duration(in.VisibilityTimeout) * time.Second)
		}
		sum := md5.Sum([]byte(m.Body))
		rm := msg{MessageId: m.MessageID, ReceiptHandle: "rh-" + m.MessageID, Body: m.Body, MD5OfBody: hex.EncodeToString(sum[:])}
		if len(m.Attributes) > 0 {
			rm.MessageAttributes = map[string]attr{}
			for k, v := range m.Attributes {
				rm.MessageAttributes[k] = attr{DataType: "String", StringValue: v}
			}
		}
		out.Messages = append(out.Messages, rm)
	}
	s.mu.Unlock()
	writeJSON(w, "application/x-amz-json-1.0", out)
}

// byReceiptHandle answers DeleteMessage (removing the message) and
// ChangeMessageVisibility (hiding it for the timeout given, from now; 0 makes it
// visible) for a receipt handle ReceiveMessage gave out.
func (s *Server) byReceiptHandle(w http.ResponseWriter, op string, body []byte) {
	var in struct {
		QueueUrl, ReceiptHandle string
		VisibilityTimeout       int
	}
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	found := -1
	for i, m := range s.messages {
		if m.QueueURL == in.QueueUrl && "rh-"+m.MessageID == in.ReceiptHandle {
			found = i
			break
		}
	}
	if found >= 0 && op == OpDeleteMessage {
		s.messages = append(s.messages[:found], s.messages[found+1:]...)
	}
	if found >= 0 && op == OpChangeVisibility {
		s.hiddenTill[s.messages[found].MessageID] = time.Now().Add(time.Duration(in.VisibilityTimeout) * time.Second)
	}
	s.mu.Unlock()
	if found < 0 {
		writeSQSError(w, "ReceiptHandleIsInvalid", "The input receipt handle \""+in.ReceiptHandle+"\" is not a valid receipt handle.")
		return
	}
	writeJSON(w, "application/x-amz-json-1.0", struct{}{})
}

func (s *Server) startMessageMove(w http.ResponseWriter, body []byte) {
	var in struct {
		SourceArn, DestinationArn    string
		MaxNumberOfMessagesPerSecond int
	}
	if err := json.Unmarshal(body, &in); err != nil || in.SourceArn == "" {
		writeError(w, http.StatusBadRequest, "InvalidParameterValue", "SourceArn is required")
		return
	}
	t := MoveTask{SourceArn: in.SourceArn, DestinationArn: in.DestinationArn, MaxPerSecond: in.MaxNumberOfMessagesPerSecond,
		TaskHandle: s.id("task")}
	s.mu.Lock()
	s.moves = append(s.moves, t)
	s.mu.Unlock()
	writeJSON(w, "application/x-amz-json-1.0", map[string]string{"TaskHandle": t.TaskHandle})
}

type wholeFault struct {
	status  int
	errType string
}

// New starts a fake on 127.0.0.1. Close it when done.
func New() *Server {
	s := &Server{calls: map[string]int{}, seen: map[string]int{}, wholeFail: map[string][]wholeFault{},
		entryFail: map[string]EntryFault{}, limits: DefaultLimits(), hiddenTill: map[string]time.Time{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the endpoint to give clients as BaseEndpoint.
func (s *Server) URL() string { return s.srv.URL }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Config returns an aws.Config for the fake: static credentials, region
// us-east-1, and a standard retryer of 3 attempts with millisecond backoff, so
// SDK retries are exercised without slowing tests. Set BaseEndpoint to URL() on each
// client.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDFAKE", "secret", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			})
		},
	}
}

// Calls returns how many requests of op arrived (failed ones included).
func (s *Server) Calls(op string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[op]
}

// FailNext makes the next n requests of op fail whole with HTTP status and the
// AWS error type errType (e.g. 400 "ThrottlingException", 500 "InternalFailure").
func (s *Server) FailNext(op string, n int, status int, errType string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.wholeFail[op] = append(s.wholeFail[op], wholeFault{status, errType})
	}
}

// FailEntries sets the per-entry fault of op; nil removes it.
func (s *Server) FailEntries(op string, f EntryFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entryFail[op] = f
}

// Events returns the accepted PutEvents entries, in order.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// Records returns the accepted Kinesis records, in order.
func (s *Server) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

// Messages returns the accepted SQS messages, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	s.calls[op]++
	if fs := s.wholeFail[op]; len(fs) > 0 {
		f := fs[0]
		s.wholeFail[op] = fs[1:]
		s.mu.Unlock()
		writeError(w, f.status, f.errType, "injected by awsfake")
		return
	}
	s.mu.Unlock()
	switch op {
	case OpPutEvents:
		s.putEvents(w, body)
	case OpPutRecords:
		s.putRecords(w, body)
	case OpSendMessageBatch:
		s.sendMessageBatch(w, body)
	case OpStartSyncExecution:
		s.startSyncExecution(w, body)
	case OpReceiveMessage:
		s.receiveMessage(w, body)
	case OpStartMessageMove:
		s.startMessageMove(w, body)
	case OpDeleteMessage, OpChangeVisibility:
		s.byReceiptHandle(w, op, body)
	case OpChangeVisibilityBatch:
		s.changeVisibilityBatch(w, body)
	case OpSendMessage:
		s.sendMessage(w, body)
	default:
		writeError(w, http.StatusBadRequest, "UnknownOperationException", "awsfake does not speak "+op)
	}
}

// entryFault runs the fault for one entry and counts it as seen.
func (s *Server) entryFault(op, key string) (string, string, bool) {
	s.mu.Lock()
	seen := s.seen[op+"\x00"+key]
	s.seen[op+"\x00"+key]++
	f := s.entryFail[op]
	s.mu.Unlock()
	if f == nil {
		return "", "", false
	}
	return f(Entry{Op: op, Key: key, Seen: seen})
}

func (s *Server) id(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	return fmt.Sprintf("%s-%08d", prefix, s.nextID)
}

func (s *Server) putEvents(w http.ResponseWriter, body []byte) {
	var in struct {
		Entries []struct {
			Source, DetailType, Detail, EventBusName string
			Resources                                []string
			Time                                     *float64
		}
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Entries) == 0 || len(in.Entries) > 10 {
		writeError(w, http.StatusBadRequest, "ValidationException", "PutEvents takes 1 to 10 entries")
		return
	}
	lim, total := s.currentLimits(), 0
	for _, e := range in.Entries {
		size := len(e.Source) + len(e.DetailType) + len(e.Detail)
		if e.Time != nil {
			size += 14
		}
		for _, r := range e.Resources {
			size += len(r)
		}
		total += size
		if over(size, lim.PutEventsEntryBytes) || over(total, lim.PutEventsRequestBytes) {
			writeError(w, http.StatusBadRequest, "ValidationException", "Total size of the entries in the request is over the limit.")
			return
		}
	}
	type result struct {
		EventId      string `json:",omitempty"`
		ErrorCode    string `json:",omitempty"`
		ErrorMessage string `json:",omitempty"`
	}
	out := struct {
		FailedEntryCount int
		Entries          []result
	}{}
	for _, e := range in.Entries {
		if code, msg, _ := s.entryFault(OpPutEvents, e.Detail); code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, result{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		ev := Event{EventID: s.id("event"), EventBusName: e.EventBusName, Source: e.Source, DetailType: e.DetailType, Detail: e.Detail}
		if e.Time != nil {
			ev.Time = time.Unix(0, int64(*e.Time*float64(time.Second))).UTC()
		}
		s.mu.Lock()
		s.events = append(s.events, ev)
		s.mu.Unlock()
		out.Entries = append(out.Entries, result{EventId: ev.EventID})
	}
	writeJSON(w, "application/x-amz-json-1.1", out)
}

func (s *Server) putRecords(w http.ResponseWriter, body []byte) {
	var in struct {
		StreamName, StreamARN string
		Records               []struct {
			Data         []byte
			PartitionKey string
		}
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Records) == 0 || len(in.Records) > 500 {
		writeError(w, http.StatusBadRequest, "ValidationException", "PutRecords takes 1 to 500 records")
		return
	}
	lim, total := s.currentLimits(), 0
	for i, rec := range in.Records {
		if n := utf8.RuneCountInString(rec.PartitionKey); n < 1 || n > KinesisMaxPartitionKey {
			writeError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf(
				"1 validation error detected: Value at 'records.%d.member.partitionKey' failed to satisfy constraint: Member must have length between 1 and %d", i+1, KinesisMaxPartitionKey))
			return
		}
		if over(len(rec.Data), lim.KinesisRecordBytes) {
			writeError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf(
				"1 validation error detected: Value at 'records.%d.member.data' failed to satisfy constraint: Member must have length less than or equal to %d", i+1, lim.KinesisRecordBytes))
			return
		}
		size := len(rec.Data) + len(rec.PartitionKey)
		if over(size, lim.KinesisRecordBytes) {
			writeError(w, http.StatusBadRequest, "InvalidArgumentException", fmt.Sprintf("Record %d size (data plus partition key) exceeds %d bytes", i+1, lim.KinesisRecordBytes))
			return
		}
		total += size
	}
	if over(total, lim.KinesisRequestBytes) {
		writeError(w, http.StatusBadRequest, "InvalidArgumentException", fmt.Sprintf("Records size exceeds %d MB limit", lim.KinesisRequestBytes>>20))
		return
	}
	type result struct {
		SequenceNumber string `json:",omitempty"`
		ShardId        string `json:",omitempty"`
		ErrorCode      string `json:",omitempty"`
		ErrorMessage   string `json:",omitempty"`
	}
	out := struct {
		FailedRecordCount int
		Records           []result
	}{}
	stream := in.StreamName
	if stream == "" {
		stream = in.StreamARN
	}
	for _, rec := range in.Records {
		if code, msg, _ := s.entryFault(OpPutRecords, string(rec.Data)); code != "" {
			out.FailedRecordCount++
			out.Records = append(out.Records, result{ErrorCode: code, ErrorMessage: msg})
			continue
		}
		seq := s.id("seq")
		s.mu.Lock()
		s.records = append(s.records, Record{Stream: stream, PartitionKey: rec.PartitionKey, Data: rec.Data, Sequence: seq})
		s.mu.Unlock()
		out.Records = append(out.Records, result{SequenceNumber: seq, ShardId: "shardId-000000000000"})
	}
	writeJSON(w, "application/x-amz-json-1.1", out)
}

func (s *Server) sendMessageBatch(w http.ResponseWriter, body []byte) {
	var in struct {
		QueueUrl string
		Entries  []struct {
			Id, MessageBody, MessageGroupId, MessageDeduplicationId string
			MessageAttributes                                       map[string]struct{ DataType, StringValue string }
		}
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Entries) == 0 || len(in.Entries) > 10 {
		writeSQSError(w, "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "SendMessageBatch takes 1 to 10 entries")
		return
	}
	lim, total := s.currentLimits(), 0
	sizes := make([]int, len(in.Entries))
	for i, e := range in.Entries {
		sizes[i] = len(e.MessageBody)
		for k, v := range e.MessageAttributes {
			sizes[i] += len(k) + len(v.DataType) + len(v.StringValue)
		}
		total += sizes[i]
	}
	if over(total, lim.SQSBatchBytes) {
		writeSQSError(w, "AWS.SimpleQueueService.BatchRequestTooLong",
			fmt.Sprintf("Batch requests cannot be longer than %d bytes. You have sent %d bytes.", lim.SQSBatchBytes, total))
		return
	}
	type ok struct{ Id, MessageId, MD5OfMessageBody string }
	out := struct {
		Successful []ok
		Failed     []sqsBatchFailure
	}{Successful: []ok{}, Failed: []sqsBatchFailure{}}
	for i, e := range in.Entries {
		if over(len(e.MessageAttributes), lim.SQSMaxAttributes) {
			out.Failed = append(out.Failed, sqsBatchFailure{Id: e.Id, Code: "InvalidParameterValue", SenderFault: true,
				Message: fmt.Sprintf("Number of message attributes [%d] exceeds the allowed maximum [%d].", len(e.MessageAttributes), lim.SQSMaxAttributes)})
			continue
		}
		if over(sizes[i], lim.SQSMessageBytes) {
			out.Failed = append(out.Failed, sqsBatchFailure{Id: e.Id, Code: "InvalidParameterValue", SenderFault: true,
				Message: fmt.Sprintf("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", lim.SQSMessageBytes)})
			continue
		}
		if !sqsText(e.MessageBody) || !sqsAttrsText(e.MessageAttributes) {
			out.Failed = append(out.Failed, sqsBatchFailure{Id: e.Id, Code: "InvalidMessageContents", SenderFault: true,
				Message: "Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"})
			continue
		}
		if code, msg, sender := s.entryFault(OpSendMessageBatch, e.MessageBody); code != "" {
			out.Failed = append(out.Failed, sqsBatchFailure{Id: e.Id, Code: code, Message: msg, SenderFault: sender})
			continue
		}
		m := Message{QueueURL: in.QueueUrl, MessageID: s.id("msg"), Body: e.MessageBody, GroupID: e.MessageGroupId,
			DedupID: e.MessageDeduplicationId, Attributes: map[string]string{}}
		for k, v := range e.MessageAttributes {
			m.Attributes[k] = v.StringValue
		}
		s.mu.Lock()
		s.messages = append(s.messages, m)
		s.mu.Unlock()
		sum := md5.Sum([]byte(e.MessageBody))
		out.Successful = append(out.Successful, ok{Id: e.Id, MessageId: m.MessageID, MD5OfMessageBody: hex.EncodeToString(sum[:])})
	}
	writeJSON(w, "application/x-amz-json-1.0", out)
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalFailure", err.Error())
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(b)
}

// sqsBatchFailure is one entry of the Failed list of an SQS batch answer
// (BatchResultErrorEntry).
type sqsBatchFailure struct {
	Id, Code, Message string
	SenderFault       bool
}

// writeSQSError answers as SQS's JSON protocol does for a sender error: a
// namespaced __type and the query-compatible code in x-amzn-query-error, which
// the SDK reports as the error code.
func writeSQSError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Query-Error", code+";Sender")
	w.WriteHeader(http.StatusBadRequest)
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.sqs#" + strings.TrimPrefix(code, "AWS.SimpleQueueService."), "message": msg})
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, errType, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", errType)
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"__type": errType, "message": msg})
	_, _ = w.Write(b)
}

// StartSyncInput is what a StartSyncExecution request carried.
type StartSyncInput struct {
	StateMachineArn string
	Name            string
	Input           string
}

// StartSyncOutput is what the fake answers: Status is SUCCEEDED, FAILED or
// TIMED_OUT, with Output on success and Error and Cause otherwise.
type StartSyncOutput struct {
	Status string
	Output string
	Error  string
	Cause  string
}

// OnStartSyncExecution sets the function that answers StartSyncExecution.
func (s *Server) OnStartSyncExecution(fn func(StartSyncInput) StartSyncOutput) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sync = fn
}

func (s *Server) startSyncExecution(w http.ResponseWriter, body []byte) {
	var in StartSyncInput
	if err := json.Unmarshal(body, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	s.mu.Lock()
	fn := s.sync
	s.mu.Unlock()
	if fn == nil {
		writeError(w, http.StatusBadRequest, "StateMachineDoesNotExist", "no OnStartSyncExecution set")
		return
	}
	res := fn(in)
	now := float64(time.Now().UnixNano()) / 1e9
	name := in.Name
	if name == "" {
		name = s.id("execution")
	}
	out := map[string]any{
		"executionArn":    strings.Replace(in.StateMachineArn, ":stateMachine:", ":express:", 1) + ":" + name,
		"stateMachineArn": in.StateMachineArn,
		"name":            name,
		"startDate":       now,
		"stopDate":        now,
		"status":          res.Status,
		"billingDetails":  map[string]any{"billedDurationInMilliseconds": 100, "billedMemoryUsedInMB": 64},
	}
	if res.Output != "" {
		out["output"] = res.Output
	}
	if res.Error != "" {
		out["error"] = res.Error
	}
	if res.Cause != "" {
		out["cause"] = res.Cause
	}
	writeJSON(w, "application/x-amz-json-1.0", out)
}
