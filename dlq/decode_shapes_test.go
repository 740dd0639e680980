package dlq_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/ingest/sqs"
)

// shape is one testdata/decode file: a dead-letter message of a documented shape,
// where the shape comes from, and what Decode must make of it.
type shape struct {
	Source  string `json:"source"`
	Message struct {
		MessageID  string            `json:"MessageID"`
		Body       json.RawMessage   `json:"Body"`
		Attributes map[string]string `json:"Attributes"`
	} `json:"message"`
	Expect struct {
		Kind          dlq.Kind        `json:"kind"`
		ID            string          `json:"id"`
		Type          string          `json:"type"`
		Payload       json.RawMessage `json:"payload"`
		Key           string          `json:"key"`
		Code          string          `json:"code"`
		Class         string          `json:"class"`
		ErrorContains string          `json:"error_contains"`
		ErrorExcludes string          `json:"error_excludes"`
	} `json:"expect"`
}

func readShapes() (map[string]shape, error) {
	files, err := filepath.Glob("testdata/decode/*.json")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no testdata/decode files: %v", err)
	}
	out := map[string]shape{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var s shape
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if s.Source == "" {
			return nil, fmt.Errorf("%s: say where the shape comes from", f)
		}
		out[filepath.Base(f)] = s
	}
	return out, nil
}

func loadShapes(t *testing.T) map[string]shape {
	t.Helper()
	shapes, err := readShapes()
	require.NoError(t, err)
	return shapes
}

// message is the dead-letter message of s, its body compacted as SQS carries it.
func (s shape) message() dlq.Message {
	body, _ := json.Marshal(s.Message.Body)
	return dlq.Message{MessageID: s.Message.MessageID, Body: string(body), Attributes: s.Message.Attributes}
}

func TestDecodeDocumentedShapes(t *testing.T) {
	t.Parallel()
	for name, s := range loadShapes(t) {
		t.Run(name, func(t *testing.T) {
			e := dlq.Decode(s.message())
			want := s.Expect
			require.Equal(t, want.Kind, e.Kind, e.LastFailure().Error)
			require.Equal(t, want.ID, e.Envelope.ID)
			if want.Type != "" {
				require.Equal(t, want.Type, e.Envelope.Type)
			}
			if len(want.Payload) > 0 {
				require.JSONEq(t, string(want.Payload), string(e.Envelope.Payload))
			}
			require.Equal(t, want.Key, e.Envelope.IdempotencyKey)
			f := e.LastFailure()
			require.Equal(t, want.Code, f.Code)
			require.Equal(t, want.Class, f.Class)
			require.Contains(t, f.Error, want.ErrorContains)
			if want.ErrorExcludes != "" {
				require.NotContains(t, f.Error, want.ErrorExcludes)
			}
			require.NoError(t, e.Envelope.Validate())
		})
	}
}

// TestDecodeRedriveMatchesTheAdapter: a message moved by a redrive policy decodes
// to the envelope ingest/sqs gave the handler (same ID, key and payload), so a
// replay hits the same idempotency key.
func TestDecodeRedriveMatchesTheAdapter(t *testing.T) {
	t.Parallel()
	for name, s := range loadShapes(t) {
		if !strings.HasPrefix(name, "sqs-redrive-") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			m := s.message()
			sm := events.SQSMessage{MessageId: m.MessageID, Body: m.Body, EventSourceARN: m.Attributes["DeadLetterQueueSourceArn"],
				Attributes: map[string]string{"SentTimestamp": m.Attributes["SentTimestamp"]}, MessageAttributes: map[string]events.SQSMessageAttribute{}}
			for k, v := range m.Attributes {
				if strings.HasPrefix(k, "storagefirst-") {
					sm.MessageAttributes[k] = events.SQSMessageAttribute{DataType: "String", StringValue: &v}
				}
			}
			handled, err := sqs.EnvelopeFromMessage(sm)
			require.NoError(t, err)
			decoded := dlq.Decode(m).Envelope
			require.Equal(t, handled.ID, decoded.ID)
			require.Equal(t, handled.Key(), decoded.Key())
			require.Equal(t, handled.Type, decoded.Type)
			require.JSONEq(t, string(handled.Payload), string(decoded.Payload))
		})
	}
}

func FuzzDecodeShapes(f *testing.F) {
	shapes, err := readShapes()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range shapes {
		m := s.message()
		f.Add(m.MessageID, m.Body, m.Attributes["DeadLetterQueueSourceArn"], m.Attributes["ERROR_CODE"])
	}
	f.Fuzz(func(t *testing.T, id, body, sourceArn, errorCode string) {
		attrs := map[string]string{}
		if sourceArn != "" {
			attrs["DeadLetterQueueSourceArn"] = sourceArn
		}
		if errorCode != "" {
			attrs["ERROR_CODE"] = errorCode
		}
		e := dlq.Decode(dlq.Message{MessageID: id, Body: body, Attributes: attrs})
		require.NotEmpty(t, e.Kind)
		require.Equal(t, body, string(e.Raw), "the message is kept verbatim")
		if e.Kind != dlq.KindUnknown {
			require.NoError(t, e.Envelope.Validate())
			require.NotEmpty(t, e.Failures)
		}
	})
}

// TestDecodeStreamBatchRecords: a stream event source's on-failure record says
// where the failed batch is, and is not replayable (it holds no records).
func TestDecodeStreamBatchRecords(t *testing.T) {
	t.Parallel()
	shapes := loadShapes(t)
	k := dlq.Decode(shapes["lambda-stream-kinesis.json"].message())
	require.NotNil(t, k.Stream)
	require.Equal(t, dlq.StreamBatch{Service: "kinesis", StreamARN: "arn:aws:kinesis:us-east-2:123456789012:stream/mystream",
		ShardID: "shardId-000000000001", StartSequenceNumber: "49601189658422359378836298521827638475320189012309704722",
		EndSequenceNumber: "49601189658422359378836298522902373528957594348623495186",
		FirstArrival:      k.Stream.FirstArrival, LastArrival: k.Stream.LastArrival, BatchSize: 500}, *k.Stream)
	require.Equal(t, "2019-11-14T00:12:45.711Z", k.Stream.FirstArrival.Format("2006-01-02T15:04:05.000Z07:00"))
	require.Equal(t, "arn:aws:kinesis:us-east-2:123456789012:stream/mystream", k.Envelope.Source)
	require.Contains(t, k.LastFailure().Error, "function error: Unhandled")
	require.False(t, k.Replayable())
	var p dlq.StreamBatch
	require.NoError(t, json.Unmarshal(k.Envelope.Payload, &p))
	require.Equal(t, *k.Stream, p)

	d := dlq.Decode(shapes["lambda-stream-dynamodb.json"].message())
	require.Equal(t, "dynamodb", d.Stream.Service)
	require.Equal(t, "shardId-00000001573689847184-864758bb", d.Stream.ShardID)
	require.False(t, d.Replayable())
}
