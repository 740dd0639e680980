package kinesis_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/ingest/kinesis"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func envs(t *testing.T, n int) []storagefirst.Envelope {
	out := make([]storagefirst.Envelope, n)
	for i := range out {
		e, err := storagefirst.NewEnvelope("CreateOrder", fmt.Appendf(nil, `{"username":"user-%d"}`, i))
		require.NoError(t, err)
		out[i] = e
	}
	return out
}

func newSink(t *testing.T, cfg kinesis.SinkConfig) (*kinesis.Sink, *awsfake.Server) {
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	client := awskinesis.NewFromConfig(fake.Config(), func(o *awskinesis.Options) { o.BaseEndpoint = aws.String(fake.URL()) })
	if cfg.StreamName == "" {
		cfg.StreamName = "orders"
	}
	s, err := kinesis.NewSink(client, cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, fake
}

func TestSinkPutsRecordsAndResendsThrottled(t *testing.T) {
	t.Parallel()
	in := envs(t, 600)
	s, fake := newSink(t, kinesis.SinkConfig{PartitionKey: func(e storagefirst.Envelope) string {
		if e.ID == in[0].ID {
			return strings.Repeat("k", 300)
		}
		return e.Key()
	}})
	fake.FailEntries(awsfake.OpPutRecords, func(e awsfake.Entry) (string, string, bool) {
		if e.Seen == 0 && strings.Contains(e.Key, "user-7") {
			return "ProvisionedThroughputExceededException", "slow down", false
		}
		return "", "", false
	})
	require.NoError(t, s.Put(context.Background(), in...))
	recs := fake.Records()
	require.Len(t, recs, 600)
	byID := map[string]awsfake.Record{}
	for _, r := range recs {
		var env storagefirst.Envelope
		require.NoError(t, json.Unmarshal(r.Data, &env))
		byID[env.ID] = r
		require.Equal(t, "orders", r.Stream)
	}
	require.Len(t, byID[in[0].ID].PartitionKey, 64, "long keys are hashed")
	require.Equal(t, in[1].ID, byID[in[1].ID].PartitionKey)
	require.GreaterOrEqual(t, fake.Calls(awsfake.OpPutRecords), 3, "500 records a call, plus resends")
}

func TestSinkReportsPermanentFailuresAndSizes(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, kinesis.SinkConfig{MaxRecordSize: 1000})
	in := envs(t, 3)
	fake.FailEntries(awsfake.OpPutRecords, func(e awsfake.Entry) (string, string, bool) {
		if strings.Contains(e.Key, "user-2") {
			return "AccessDeniedException", "no", false
		}
		return "", "", false
	})
	big, err := storagefirst.NewEnvelope("x", []byte(`"`+strings.Repeat("a", 2000)+`"`))
	require.NoError(t, err)
	err = s.Put(context.Background(), append(in, big)...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.ElementsMatch(t, []string{big.ID, in[2].ID}, pe.FailedIDs())
	require.ErrorIs(t, err, storagefirst.ErrTooLarge)
	require.Len(t, fake.Records(), 2)
	_, err = kinesis.NewSink(nil, kinesis.SinkConfig{})
	require.ErrorContains(t, err, "StreamName or StreamARN")
}

func TestSinkSharesRequestsUnderLoad(t *testing.T) {
	t.Parallel()
	s, _ := newSink(t, kinesis.SinkConfig{})
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				require.NoError(t, s.Put(context.Background(), envs(t, 1)...))
			}
		}()
	}
	wg.Wait()
	t.Logf("Kinesis: 640 envelopes from 64 concurrent callers in %d PutRecords calls: %.3f requests per envelope",
		s.Requests(), float64(s.Requests())/640)
	require.Less(t, s.Requests(), int64(320))
}

func rec(seq, data string) events.KinesisEventRecord {
	var r events.KinesisEventRecord
	r.EventID = "shardId-000000000000:" + seq
	r.Kinesis.SequenceNumber = seq
	r.Kinesis.Data = []byte(data)
	return r
}

func TestBatchHandlerStopsAtTheFirstFailure(t *testing.T) {
	t.Parallel()
	var handled []string
	h := kinesis.NewBatchHandler(storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		handled = append(handled, env.ID)
		if strings.HasSuffix(env.ID, ":2") {
			return errors.New("boom")
		}
		return nil
	}), kinesis.BatchConfig{})
	resp, err := h(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{
		rec("1", `{}`), rec("2", `{}`), rec("3", `{}`)}})
	require.NoError(t, err)
	require.Equal(t, []string{"shardId-000000000000:1", "shardId-000000000000:2"}, handled)
	require.Equal(t, []events.KinesisBatchItemFailure{{ItemIdentifier: "2"}}, resp.BatchItemFailures)

	resp, err = h(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{rec("9", `not json`)}})
	require.NoError(t, err)
	require.Equal(t, []events.KinesisBatchItemFailure{{ItemIdentifier: "9"}}, resp.BatchItemFailures)

	// An envelope written by the sink comes back whole.
	env := envs(t, 1)[0]
	b, _ := json.Marshal(env)
	got, err := kinesis.EnvelopeFromRecord(rec("5", string(b)))
	require.NoError(t, err)
	require.Equal(t, env, got)
}

// deadLetters is a dlq.Destination that keeps what it is sent.
type deadLetters struct {
	mu      sync.Mutex
	letters []storagefirst.DeadLetter
}

func (d *deadLetters) SendDeadLetter(_ context.Context, dl storagefirst.DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.letters = append(d.letters, dl)
	return nil
}

// TestBatchHandlerDeadLettersAPoisonRecord: a gzip record in the middle of a batch
// is dead-lettered, with its bytes, and the batch goes on.
func TestBatchHandlerDeadLettersAPoisonRecord(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"username":"lee"}`))
	require.NoError(t, zw.Close())
	dest := &deadLetters{}
	var handled []string
	deadLetter, err := dlq.Middleware(dlq.MiddlewareConfig{Destination: dest})
	require.NoError(t, err)
	chain := deadLetter(storagefirst.HandlerFunc(func(_ context.Context, env storagefirst.Envelope) error {
		handled = append(handled, env.ID)
		return nil
	}))
	h := kinesis.NewBatchHandler(chain, kinesis.BatchConfig{DeadLetters: dest})
	poison := rec("2", "")
	poison.Kinesis.Data = gz.Bytes()
	poison.EventSourceArn = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
	poison.Kinesis.PartitionKey = "order-2"
	resp, err := h(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{rec("1", `{}`), poison, rec("3", `{}`)}})
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, []string{"shardId-000000000000:1", "shardId-000000000000:3"}, handled)
	require.Len(t, dest.letters, 1)
	dl := dest.letters[0]
	require.Equal(t, dlq.TypeUndecodable, dl.Envelope.Type)
	require.Equal(t, "shardId-000000000000:2", dl.Envelope.ID)
	require.Equal(t, poison.EventSourceArn, dl.Envelope.Source)
	var p dlq.UndecodablePayload
	require.NoError(t, json.Unmarshal(dl.Envelope.Payload, &p))
	require.Equal(t, gz.Bytes(), p.Data)
	require.Equal(t, "permanent", dl.LastFailure().Class)
	require.Contains(t, dl.LastFailure().Error, "not JSON")
	require.Equal(t, map[string]string{dlq.MetaPartitionKey: "order-2", dlq.MetaSequenceNumber: "2",
		dlq.MetaShardID: "shardId-000000000000"}, dl.Envelope.Metadata)

	// Without DeadLetters the stand-in goes through the chain, whose dlq
	// middleware dead-letters it: the shard moves on all the same.
	handled = nil
	resp, err = kinesis.NewBatchHandler(chain, kinesis.BatchConfig{})(context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{rec("1", `{}`), poison, rec("3", `{}`)}})
	require.NoError(t, err)
	require.Empty(t, resp.BatchItemFailures)
	require.Equal(t, []string{"shardId-000000000000:1", "shardId-000000000000:3"}, handled)
	require.Len(t, dest.letters, 2)
	require.Equal(t, dl.Envelope.ID, dest.letters[1].Envelope.ID)
	require.Equal(t, dl.Envelope.Payload, dest.letters[1].Envelope.Payload)
	require.Equal(t, dl.Envelope.Metadata, dest.letters[1].Envelope.Metadata)

	// A chain without the middleware fails it for good and stops there.
	resp, err = kinesis.NewBatchHandler(storagefirst.HandlerFunc(func(context.Context, storagefirst.Envelope) error { return nil }), kinesis.BatchConfig{})(
		context.Background(), events.KinesisEvent{Records: []events.KinesisEventRecord{rec("1", `{}`), poison, rec("3", `{}`)}})
	require.NoError(t, err)
	require.Equal(t, []events.KinesisBatchItemFailure{{ItemIdentifier: "2"}}, resp.BatchItemFailures)
}

func FuzzEnvelopeFromRecord(f *testing.F) {
	f.Add("1", []byte(`{"username":"lee"}`))
	f.Add("2", []byte(`{"id":"x","type":"t","accepted_at":"2026-01-01T00:00:00Z"}`))
	f.Add("", []byte{0xff})
	f.Fuzz(func(t *testing.T, seq string, data []byte) {
		r := rec(seq, "")
		r.Kinesis.Data = data
		env, err := kinesis.EnvelopeFromRecord(r)
		if err != nil {
			require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
			return
		}
		require.NoError(t, env.Validate())
	})
}

// TestSinkIsolatesARecordTheServiceRefuses: Kinesis refuses a whole shared
// request for one record (here the stream's limit is lower than the sink's); only
// that record fails, permanently, and the request total stays within 5 MiB.
func TestSinkIsolatesARecordTheServiceRefuses(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, kinesis.SinkConfig{})
	fake.SetLimits(awsfake.Limits{KinesisRecordBytes: 64 << 10, KinesisRequestBytes: 5 << 20})
	in := envs(t, 6)
	big, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"note":"`+strings.Repeat("a", 100<<10)+`"}`))
	require.NoError(t, err)
	in = append(in[:2], append([]storagefirst.Envelope{big}, in[2:]...)...)
	err = s.Put(context.Background(), in...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{big.ID}, pe.FailedIDs())
	require.True(t, storagefirst.IsPermanent(pe.Failed[0].Err))
	require.Len(t, fake.Records(), 6)

	// Twelve 90 KiB records against a 512 KiB request limit (enforced by the
	// fake too): at most five per request.
	s, fake = newSink(t, kinesis.SinkConfig{MaxRequestSize: 512 << 10})
	fake.SetLimits(awsfake.Limits{KinesisRecordBytes: 1 << 20, KinesisRequestBytes: 512 << 10})
	many := make([]storagefirst.Envelope, 12)
	for i := range many {
		many[i], err = storagefirst.NewEnvelope("CreateOrder", []byte(`{"note":"`+strings.Repeat("b", 90<<10)+`"}`))
		require.NoError(t, err)
	}
	require.NoError(t, s.Put(context.Background(), many...))
	require.Len(t, fake.Records(), 12)
	require.Equal(t, 3, fake.Calls(awsfake.OpPutRecords))
}
