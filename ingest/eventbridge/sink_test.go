package eventbridge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	awseb "github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/ingest/eventbridge"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func newSink(t *testing.T, cfg eventbridge.SinkConfig) (*eventbridge.Sink, *awsfake.Server) {
	t.Helper()
	fake := awsfake.New()
	t.Cleanup(fake.Close)
	client := awseb.NewFromConfig(fake.Config(), func(o *awseb.Options) { o.BaseEndpoint = &[]string{fake.URL()}[0] })
	if cfg.Source == "" {
		cfg.Source = "com.lee.pizza"
	}
	s, err := eventbridge.NewSink(client, cfg)
	require.NoError(t, err)
	t.Cleanup(s.Close)
	return s, fake
}

func envs(t *testing.T, n int) []storagefirst.Envelope {
	out := make([]storagefirst.Envelope, n)
	for i := range out {
		e, err := storagefirst.NewEnvelope("CreateOrder", fmt.Appendf(nil, `{"username":"user-%d"}`, i))
		require.NoError(t, err)
		out[i] = e
	}
	return out
}

func TestSinkPutsEnvelopesAsEvents(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{EventBusName: "pizza"})
	in := envs(t, 23)
	in[0].Source = "custom.source"
	require.NoError(t, s.Put(context.Background(), in...))
	evs := fake.Events()
	require.Len(t, evs, 23)
	require.Equal(t, 3, fake.Calls(awsfake.OpPutEvents), "chunks of at most 10")
	byID := map[string]awsfake.Event{}
	for _, ev := range evs {
		var env storagefirst.Envelope
		require.NoError(t, json.Unmarshal([]byte(ev.Detail), &env))
		byID[env.ID] = ev
		require.Equal(t, "pizza", ev.EventBusName)
		require.Equal(t, "CreateOrder", ev.DetailType)
	}
	require.Equal(t, "custom.source", byID[in[0].ID].Source)
	require.Equal(t, "com.lee.pizza", byID[in[1].ID].Source)
	require.WithinDuration(t, in[1].AcceptedAt, byID[in[1].ID].Time, 1e6)
}

func TestSinkResendsOnlyRetryableFailedEntries(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	in := envs(t, 10)
	denied := in[3].ID
	// Throttle the first attempt of every other entry; deny one for good.
	fake.FailEntries(awsfake.OpPutEvents, func(e awsfake.Entry) (string, string, bool) {
		switch {
		case strings.Contains(e.Key, denied):
			return "AccessDeniedException", "not allowed", false
		case e.Seen == 0 && strings.Contains(e.Key, `user-`) && strings.ContainsAny(e.Key[len(e.Key)-5:], "02468"):
			return "ThrottlingException", "slow down", false
		}
		return "", "", false
	})
	err := s.Put(context.Background(), in...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{denied}, pe.FailedIDs())
	require.True(t, storagefirst.IsPermanent(pe.Failed[0].Err))
	require.ErrorContains(t, err, "AccessDeniedException")
	require.Len(t, fake.Events(), 9)
	require.Equal(t, 2, fake.Calls(awsfake.OpPutEvents), "one resend of the throttled entries only")
}

func TestSinkReportsEntriesThatKeepFailing(t *testing.T) {
	t.Parallel()
	retry := storagefirst.RetryPolicy{Interval: 1, MaxRetries: 2}
	s, fake := newSink(t, eventbridge.SinkConfig{Retry: &retry})
	fake.FailEntries(awsfake.OpPutEvents, func(e awsfake.Entry) (string, string, bool) {
		if strings.Contains(e.Key, "user-1") {
			return "InternalFailure", "oops", false
		}
		return "", "", false
	})
	in := envs(t, 2)
	err := s.Put(context.Background(), in...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{in[1].ID}, pe.FailedIDs())
	require.True(t, storagefirst.IsRetryable(pe.Failed[0].Err))
	require.True(t, pe.Partial())
	require.Equal(t, 3, fake.Calls(awsfake.OpPutEvents), "first attempt and two resends")
}

func TestSinkWholeRequestFailures(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	fake.FailNext(awsfake.OpPutEvents, 2, 500, "InternalFailure") // the SDK retries these
	require.NoError(t, s.Put(context.Background(), envs(t, 1)...))
	fake.FailNext(awsfake.OpPutEvents, 3, 400, "ThrottlingException")
	err := s.Put(context.Background(), envs(t, 1)...)
	require.ErrorContains(t, err, "ThrottlingException")
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.True(t, storagefirst.IsRetryable(pe.Failed[0].Err))
}

func TestSinkChecksEntrySize(t *testing.T) {
	t.Parallel()
	big, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"note":"`+strings.Repeat("a", 300*1024)+`"}`))
	require.NoError(t, err)
	s, fake := newSink(t, eventbridge.SinkConfig{})
	err = s.Put(context.Background(), big)
	require.ErrorIs(t, err, storagefirst.ErrTooLarge)
	require.True(t, storagefirst.IsPermanent(err))
	require.Zero(t, fake.Calls(awsfake.OpPutEvents), "not sent")

	s, _ = newSink(t, eventbridge.SinkConfig{MaxEntrySize: eventbridge.MaxEntrySizeLimit})
	require.NoError(t, s.Put(context.Background(), big))
	_, err = eventbridge.NewSink(nil, eventbridge.SinkConfig{MaxEntrySize: 2 << 20})
	require.ErrorContains(t, err, "needs a client")
	require.ErrorContains(t, err, "MaxEntrySize")
}

func TestSinkRawDetailAndMissingSource(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{RawDetail: true})
	in := envs(t, 1)
	require.NoError(t, s.Put(context.Background(), in...))
	require.JSONEq(t, string(in[0].Payload), fake.Events()[0].Detail)

	arr, err := storagefirst.NewEnvelope("x", []byte(`[1]`))
	require.NoError(t, err)
	require.ErrorIs(t, s.Put(context.Background(), arr), storagefirst.ErrInvalidEnvelope)

	fake2 := awsfake.New()
	defer fake2.Close()
	noSource, err := eventbridge.NewSink(awseb.NewFromConfig(fake2.Config(), func(o *awseb.Options) { o.BaseEndpoint = &[]string{fake2.URL()}[0] }), eventbridge.SinkConfig{})
	require.NoError(t, err)
	defer noSource.Close()
	require.ErrorIs(t, noSource.Put(context.Background(), envs(t, 1)...), storagefirst.ErrInvalidEnvelope)
}

// TestSinkSharesRequestsUnderLoad measures requests per envelope with 64
// concurrent callers of one envelope each (the figure quoted in the README).
func TestSinkSharesRequestsUnderLoad(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	const callers, rounds = 64, 10
	var wg sync.WaitGroup
	errs := make(chan error, callers*rounds)
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				errs <- s.Put(context.Background(), envs(t, 1)...)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	n := callers * rounds
	require.Len(t, fake.Events(), n)
	perEnvelope := float64(s.Requests()) / float64(n)
	t.Logf("EventBridge: %d envelopes from %d concurrent callers in %d PutEvents calls: %.3f requests per envelope",
		n, callers, s.Requests(), perEnvelope)
	require.Less(t, perEnvelope, 0.5, "concurrent puts share requests")
	require.Equal(t, int64(fake.Calls(awsfake.OpPutEvents)), s.Requests())
}
