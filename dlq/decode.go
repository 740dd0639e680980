package dlq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/storagefirst/storagefirst-go/internal/awsenv"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Message is an SQS message as read from a dead-letter queue.
type Message struct {
	MessageID string
	Body      string
	// Attributes holds the message attributes (string values) and the system
	// attributes (SentTimestamp, ApproximateReceiveCount, DeadLetterQueueSourceArn,
	// ...), by name.
	Attributes    map[string]string
	ReceiptHandle string
}

// Message attributes written by the SQS destination (dlq/sqs.Destination). AttrID
// and AttrType are the ones ingest/sqs.Sink sets too, which decodeRedrive reads
// back (awsenv.FromSQS).
const (
	AttrID            = awsenv.AttrID
	AttrType          = awsenv.AttrType
	AttrErrorClass    = "storagefirst-error-class"
	AttrErrorCode     = "storagefirst-error-code"
	AttrError         = "storagefirst-error"
	AttrAttempts      = "storagefirst-attempts"
	AttrFirstFailedAt = "storagefirst-first-failed-at"
	AttrLastFailedAt  = "storagefirst-last-failed-at"
	AttrOrigin        = "storagefirst-origin"
	AttrFailures      = "storagefirst-failures"
)

// Decode turns a dead-letter message of any origin into an Entry. It never fails
// and never panics: a message it cannot read is returned as KindUnknown with the
// body kept verbatim (as the payload when it is JSON, else as a JSON string).
func Decode(m Message) Entry {
	e := Entry{Raw: []byte(m.Body), Attributes: m.Attributes, Handle: m.ReceiptHandle, MessageID: m.MessageID}
	if m.Attributes == nil {
		e.Attributes = map[string]string{}
	}
	sent := sentAt(m.Attributes)
	body := []byte(m.Body)
	var err error
	// What the attributes say comes first; the body's shape is a guess.
	inner, via := unwrapTransport(body)
	switch {
	case m.Attributes[AttrErrorClass] != "":
		err = decodeOwn(&e, m, body)
	case m.Attributes["ERROR_CODE"] != "" || m.Attributes["RULE_ARN"] != "":
		err = decodeEventBridgeTarget(&e, m, body, sent)
	case m.Attributes["DeadLetterQueueSourceArn"] != "":
		err = decodeRedrive(&e, m, body, sent)
	case isStreamBatchRecord(inner):
		err = decodeStreamBatch(&e, inner, via)
	case isLambdaDestination(inner):
		err = decodeLambdaDestination(&e, inner, via)
	case isCatchOutput(body):
		err = decodeCatch(&e, m, body, sent)
	default:
		err = errNotRecognised
	}
	if err != nil {
		return unknown(m, sent, err)
	}
	if e.DeadAt.IsZero() {
		e.DeadAt = sent
	}
	return e
}

var errNotRecognised = fmt.Errorf("a shape no decoder recognises")

// unknown keeps a message verbatim.
func unknown(m Message, sent time.Time, why error) Entry {
	payload := []byte(m.Body)
	if !json.Valid(payload) {
		payload, _ = json.Marshal(m.Body)
	}
	id := m.MessageID
	if id == "" {
		id = storagefirst.NewID()
	}
	env := storagefirst.Envelope{ID: id, Type: TypeUnknown, AcceptedAt: sent, Payload: payload}
	_ = env.Normalize()
	return Entry{Kind: KindUnknown, Envelope: env, Raw: []byte(m.Body), Attributes: orEmpty(m.Attributes),
		Handle: m.ReceiptHandle, MessageID: m.MessageID, DeadAt: sent,
		Failures: []storagefirst.Failure{{Class: storagefirst.ClassPermanent.String(), Code: "UNKNOWN_SHAPE",
			Error: "dlq: kept verbatim: " + why.Error(), At: sent}}}
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func sentAt(attrs map[string]string) time.Time {
	if ms, err := strconv.ParseInt(attrs["SentTimestamp"], 10, 64); err == nil {
		return time.UnixMilli(ms).UTC()
	}
	return time.Time{}
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t.UTC()
}

// decodeOwn reads dlq/sqs.Destination's messages: the envelope's JSON as the body, the
// failure in attributes.
func decodeOwn(e *Entry, m Message, body []byte) error {
	env, ok := storagefirst.ParseEnvelope(body)
	if !ok {
		return fmt.Errorf("the body of a storagefirst dead letter is not an envelope")
	}
	e.Kind, e.Envelope = KindStoragefirst, env
	if fs := m.Attributes[AttrFailures]; fs != "" && json.Unmarshal([]byte(fs), &e.Failures) == nil && len(e.Failures) > 0 {
		e.DeadAt = e.LastFailure().At
		return nil
	}
	attempts, _ := strconv.Atoi(m.Attributes[AttrAttempts])
	last := storagefirst.Failure{Attempt: attempts, At: parseTime(m.Attributes[AttrLastFailedAt]),
		Class: m.Attributes[AttrErrorClass], Code: m.Attributes[AttrErrorCode], Error: m.Attributes[AttrError],
		Origin: m.Attributes[AttrOrigin]}
	if first := parseTime(m.Attributes[AttrFirstFailedAt]); !first.IsZero() && !first.Equal(last.At) {
		e.Failures = append(e.Failures, storagefirst.Failure{At: first, Class: last.Class, Origin: last.Origin})
	}
	e.Failures = append(e.Failures, last)
	e.DeadAt = last.At
	return nil
}

// envelopeFromEvent reads the envelope of an EventBridge event: the one the
// eventbridge sink wrote, or the raw detail under the event's id (as
// ingest/eventbridge and ingest/sqs read it).
func envelopeFromEvent(data []byte) (storagefirst.Envelope, bool) {
	ev, ok := awsenv.ParseEventBridgeEvent(data)
	if !ok {
		return storagefirst.Envelope{}, false
	}
	env, err := awsenv.FromEventBridge(ev)
	return env, err == nil
}

// Transports a Lambda destination record can come through before reaching an SQS
// queue.
const (
	viaSQS         = ""
	viaSNS         = "sns"
	viaEventBridge = "eventbridge"
)

// unwrapTransport returns what an SNS notification (raw delivery off) or an
// EventBridge event from Lambda (source "lambda", a Lambda destination on a bus)
// carries, and through which; any other body is returned as it is.
func unwrapTransport(body []byte) ([]byte, string) {
	var sns struct{ Type, MessageId, Message string }
	if json.Unmarshal(body, &sns) == nil && sns.Type == "Notification" && sns.MessageId != "" {
		return []byte(sns.Message), viaSNS
	}
	if ev, ok := awsenv.ParseEventBridgeEvent(body); ok && ev.Source == "lambda" {
		return ev.Detail, viaEventBridge
	}
	return body, viaSQS
}

// eventBridgePermanent are target error codes that a retry does not cure.
var eventBridgePermanent = map[string]bool{"INVALID_JSON": true, "NO_PERMISSIONS": true, "NO_RESOURCE": true,
	"INVALID_PARAMETER": true}

func decodeEventBridgeTarget(e *Entry, m Message, body []byte, sent time.Time) error {
	env, ok := envelopeFromEvent(body)
	if !ok {
		return fmt.Errorf("an EventBridge target dead letter whose body is not an event")
	}
	code := m.Attributes["ERROR_CODE"]
	retries, _ := strconv.Atoi(m.Attributes["RETRY_ATTEMPTS"])
	class := storagefirst.ClassRetryable.String()
	if eventBridgePermanent[code] {
		class = storagefirst.ClassPermanent.String()
	}
	msg := m.Attributes["ERROR_MESSAGE"]
	if cond := m.Attributes["EXHAUSTED_RETRY_CONDITION"]; cond != "" {
		msg = strings.TrimSpace(msg + " (" + cond + ")")
	}
	origin := m.Attributes["RULE_ARN"]
	if t := m.Attributes["TARGET_ARN"]; t != "" {
		origin += " -> " + t
	}
	e.Kind, e.Envelope = KindEventBridgeTarget, env
	e.Failures = []storagefirst.Failure{{Attempt: retries + 1, At: sent, Class: class, Code: code, Error: msg, Origin: origin}}
	return nil
}

// lambdaDestination is a Lambda asynchronous invocation's on-failure record.
type lambdaDestination struct {
	Version        string    `json:"version"`
	Timestamp      time.Time `json:"timestamp"`
	RequestContext struct {
		RequestID              string `json:"requestId"`
		FunctionArn            string `json:"functionArn"`
		Condition              string `json:"condition"`
		ApproximateInvokeCount int    `json:"approximateInvokeCount"`
	} `json:"requestContext"`
	RequestPayload  json.RawMessage `json:"requestPayload"`
	ResponseContext struct {
		StatusCode      int    `json:"statusCode"`
		ExecutedVersion string `json:"executedVersion"`
		FunctionError   string `json:"functionError"`
	} `json:"responseContext"`
	ResponsePayload json.RawMessage `json:"responsePayload"`
}

func isLambdaDestination(body []byte) bool {
	var probe struct {
		RequestContext *json.RawMessage `json:"requestContext"`
		RequestPayload *json.RawMessage `json:"requestPayload"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.RequestContext != nil && probe.RequestPayload != nil
}

func decodeLambdaDestination(e *Entry, body []byte, via string) error {
	var r lambdaDestination
	if err := json.Unmarshal(body, &r); err != nil {
		return err
	}
	env, ok := envelopeFromEvent(r.RequestPayload)
	if !ok {
		env, ok = storagefirst.ParseEnvelope(r.RequestPayload)
	}
	if !ok {
		id := r.RequestContext.RequestID
		if id == "" || !json.Valid(r.RequestPayload) {
			return fmt.Errorf("a Lambda destination record without a request ID or a JSON payload")
		}
		env = storagefirst.Envelope{ID: id, Type: "lambda.invocation", Source: r.RequestContext.FunctionArn,
			AcceptedAt: r.Timestamp, Payload: r.RequestPayload}
		if env.Normalize() != nil || env.Validate() != nil {
			return fmt.Errorf("a Lambda destination record whose payload is not an envelope")
		}
	}
	msg, code := lambdaError(r.ResponsePayload)
	switch {
	case msg != "":
	case r.ResponseContext.FunctionError != "":
		msg = "function error: " + r.ResponseContext.FunctionError
	case r.RequestContext.Condition == "EventAgeExceeded":
		// Not a function error: the event outlived the maximum event age, waiting
		// (throttled, or between retries) rather than failing.
		msg = fmt.Sprintf("the event exceeded the maximum event age after %d invocations", r.RequestContext.ApproximateInvokeCount)
		if r.RequestContext.ApproximateInvokeCount == 0 {
			msg = "the event exceeded the maximum event age before the function ran"
		}
	default:
		msg = "the invocation failed without an error payload"
	}
	if code == "" {
		code = r.RequestContext.Condition
	} else {
		msg = r.RequestContext.Condition + ": " + msg
	}
	if via != viaSQS {
		msg += " (delivered through " + via + ")"
	}
	e.Kind, e.Envelope, e.DeadAt = KindLambdaDestination, env, r.Timestamp.UTC()
	e.Failures = []storagefirst.Failure{{Attempt: r.RequestContext.ApproximateInvokeCount, At: r.Timestamp.UTC(),
		Class: storagefirst.ClassRetryable.String(), Code: code, Error: msg, Origin: r.RequestContext.FunctionArn}}
	return nil
}

// lambdaError reads a Lambda error payload {"errorMessage","errorType"}.
func lambdaError(p json.RawMessage) (msg, typ string) {
	var le struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if json.Unmarshal(p, &le) == nil && le.ErrorMessage != "" {
		return le.ErrorMessage, le.ErrorType
	}
	if len(bytes.TrimSpace(p)) > 0 && string(p) != "null" {
		return string(p), ""
	}
	return "", ""
}

// catchError finds {Error, Cause} at the top level (ResultPath "$", the default:
// the error replaced the input; path "") or, with a ResultPath such as "$.error",
// one level down under path (the rest of body is the state's original input).
func catchError(body []byte) (errName, cause, path string, ok bool) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return "", "", "", false
	}
	read := func(m map[string]json.RawMessage) (string, string, bool) {
		var name, c string
		if json.Unmarshal(m["Error"], &name) != nil || name == "" {
			return "", "", false
		}
		_ = json.Unmarshal(m["Cause"], &c)
		return name, c, true
	}
	if n, c, ok := read(top); ok {
		return n, c, "", true
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys) // the same answer every time
	for _, k := range keys {
		var inner map[string]json.RawMessage
		if json.Unmarshal(top[k], &inner) == nil && len(inner) <= 2 {
			if n, c, ok := read(inner); ok {
				return n, c, k, true
			}
		}
	}
	return "", "", "", false
}

func isCatchOutput(body []byte) bool {
	_, _, _, ok := catchError(body)
	return ok
}

// withoutKey returns the JSON object body without its key path.
func withoutKey(body []byte, path string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	delete(top, path)
	return json.Marshal(top)
}

func decodeCatch(e *Entry, m Message, body []byte, sent time.Time) error {
	name, cause, path, _ := catchError(body)
	msg := cause
	// A Lambda task's Cause is itself JSON: {"errorMessage", "errorType", ...}.
	if lm, lt := lambdaError(json.RawMessage(cause)); lm != "" && lm != cause {
		msg = lm
		if lt != "" {
			msg = lt + ": " + lm
		}
	}
	input := body
	if path != "" {
		// A ResultPath kept the state's input: it is the payload, the error is
		// reported apart.
		var err error
		if input, err = withoutKey(body, path); err != nil {
			return err
		}
	}
	env, ok := storagefirst.ParseEnvelope(input)
	if !ok {
		id := m.MessageID
		if id == "" {
			return fmt.Errorf("a Step Functions failure without a message ID")
		}
		env = storagefirst.Envelope{ID: id, Type: "stepfunctions.failure", AcceptedAt: sent, Payload: input}
		if env.Normalize() != nil || env.Validate() != nil {
			return fmt.Errorf("a Step Functions failure that is not an envelope")
		}
	}
	class := storagefirst.ClassRetryable.String()
	if name == "States.Runtime" || name == "States.DataLimitExceeded" {
		class = storagefirst.ClassPermanent.String()
	}
	e.Kind, e.Envelope = KindStepFunctionsCatch, env
	e.Failures = []storagefirst.Failure{{At: sent, Class: class, Code: name, Error: msg,
		Origin: m.Attributes["stateMachineArn"]}}
	return nil
}

// decodeRedrive reads a message an SQS redrive policy moved here: its body is
// what was sent to the source queue, read as ingest/sqs read it there (so a
// replay has the same envelope ID and idempotency key).
func decodeRedrive(e *Entry, m Message, body []byte, sent time.Time) error {
	receives, _ := strconv.Atoi(m.Attributes["ApproximateReceiveCount"])
	env, err := awsenv.FromSQS(awsenv.SQSMessage{MessageID: m.MessageID, Body: string(body),
		SourceARN: m.Attributes["DeadLetterQueueSourceArn"], SentTimestamp: m.Attributes["SentTimestamp"], Attributes: m.Attributes})
	if err != nil {
		return fmt.Errorf("a redriven message that is not an envelope: %w", err)
	}
	e.Kind, e.Envelope = KindSQSRedrive, env
	e.Failures = []storagefirst.Failure{{Attempt: receives, At: sent, Class: storagefirst.ClassRetryable.String(),
		Code: "MAX_RECEIVE_COUNT", Error: fmt.Sprintf("moved by the redrive policy after %d receives", receives),
		Origin: m.Attributes["DeadLetterQueueSourceArn"]}}
	return nil
}
