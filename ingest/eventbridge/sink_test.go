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

// sized returns an envelope whose payload is n bytes.
func sized(t *testing.T, n int) storagefirst.Envelope {
	t.Helper()
	e, err := storagefirst.NewEnvelope("CreateOrder", []byte(`{"note":"`+strings.Repeat("a", n-11)+`"}`))
	require.NoError(t, err)
	return e
}

func TestSinkSplitsRequestsByTotalEntrySize(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	fake.SetLimits(awsfake.Limits{PutEventsEntryBytes: eventbridge.MaxEntrySizeDefault, PutEventsRequestBytes: eventbridge.MaxEntrySizeDefault})
	in := make([]storagefirst.Envelope, 10)
	for i := range in {
		in[i] = sized(t, 100*1024)
	}
	require.NoError(t, s.Put(context.Background(), in...))
	require.Len(t, fake.Events(), 10)
	require.Equal(t, 5, fake.Calls(awsfake.OpPutEvents), "two 100 KB entries per 256 KB request")

	// With 1 MB events the request total is 1 MB: each request holds one 600 KB event.
	s, fake = newSink(t, eventbridge.SinkConfig{MaxEntrySize: eventbridge.MaxEntrySizeLimit})
	require.NoError(t, s.Put(context.Background(), sized(t, 600*1024), sized(t, 600*1024), sized(t, 100)))
	require.Len(t, fake.Events(), 3)
	require.Equal(t, 2, fake.Calls(awsfake.OpPutEvents))

	_, err := eventbridge.NewSink(awseb.New(awseb.Options{}), eventbridge.SinkConfig{MaxRequestSize: 1000})
	require.ErrorContains(t, err, "MaxRequestSize")
}

// TestSinkLargeEntriesNeverFailOtherCallers: 64 concurrent callers, some with
// large events and one with an event over the limit, share requests; every caller
// but the oversize one succeeds.
func TestSinkLargeEntriesNeverFailOtherCallers(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	fake.SetLimits(awsfake.Limits{PutEventsEntryBytes: eventbridge.MaxEntrySizeDefault, PutEventsRequestBytes: eventbridge.MaxEntrySizeDefault})
	const callers = 64
	in := make([]storagefirst.Envelope, callers)
	for i := range in {
		switch {
		case i == 7:
			in[i] = sized(t, 300*1024)
		case i%4 == 0:
			in[i] = sized(t, 100*1024)
		default:
			in[i] = sized(t, 100)
		}
	}
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range in {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Put(context.Background(), in[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i == 7 {
			require.ErrorIs(t, err, storagefirst.ErrTooLarge)
			require.True(t, storagefirst.IsPermanent(err))
			continue
		}
		require.NoError(t, err, "caller %d", i)
	}
	require.Len(t, fake.Events(), callers-1)
}

// TestSinkIsolatesAnEntryTheServiceRefuses: EventBridge refuses a whole shared
// request because of one entry (here its limit is lower than the sink's); the
// request is split so that only that entry fails, permanently.
func TestSinkIsolatesAnEntryTheServiceRefuses(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	fake.SetLimits(awsfake.Limits{PutEventsEntryBytes: 50 * 1024, PutEventsRequestBytes: 256 * 1024})
	in := envs(t, 6)
	big := sized(t, 100*1024)
	in = append(in[:3], append([]storagefirst.Envelope{big}, in[3:]...)...)
	err := s.Put(context.Background(), in...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, []string{big.ID}, pe.FailedIDs())
	require.True(t, storagefirst.IsPermanent(pe.Failed[0].Err))
	require.ErrorContains(t, err, "ValidationException")
	require.Len(t, fake.Events(), 6)
}

func TestSinkClassifiesWholeRequestErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status    int
		code      string
		retryable bool
	}{
		{400, "ValidationException", false},
		{413, "RequestEntityTooLarge", false},
		{400, "AccessDeniedException", true}, // credentials or policy: passes once they are right
		{400, "ExpiredTokenException", true},
		{400, "ResourceNotFoundException", true},
		{400, "ThrottlingException", true},
		{429, "TooManyRequests", true},
		{500, "InternalException", true},
		{503, "ServiceUnavailable", true},
	} {
		s, fake := newSink(t, eventbridge.SinkConfig{})
		fake.FailNext(awsfake.OpPutEvents, 3, c.status, c.code) // the SDK retries what it may
		err := s.Put(context.Background(), envs(t, 1)...)
		require.ErrorContains(t, err, c.code)
		require.Equal(t, c.retryable, storagefirst.IsRetryable(err), "%d %s", c.status, c.code)
		require.Equal(t, !c.retryable, storagefirst.IsPermanent(err), "%d %s", c.status, c.code)
	}
}

// TestSinkDoesNotSplitForRequestWideRefusals: an error no entry causes (access
// denied) fails the whole request at once, without splitting it, and retryably:
// it passes once the credentials or the policy are right.
func TestSinkDoesNotSplitForRequestWideRefusals(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	fake.FailNext(awsfake.OpPutEvents, 1, 400, "AccessDeniedException")
	err := s.Put(context.Background(), envs(t, 8)...)
	var pe *storagefirst.PutError
	require.ErrorAs(t, err, &pe)
	require.Len(t, pe.Failed, 8)
	require.True(t, storagefirst.IsRetryable(pe.Failed[0].Err))
	require.Equal(t, 1, fake.Calls(awsfake.OpPutEvents))
}
