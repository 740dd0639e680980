package eventbridge_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/awsfake"
	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/ingest/eventbridge"
)

// A body within the front door's limit but over the EventBridge entry limit is
// refused for good by the sink: the client gets 413, not 503 "retry it", and a
// body the service refuses for good gets 422; neither carries Retry-After.
func TestFrontDoorAnswersSinkRefusalAsPermanent(t *testing.T) {
	t.Parallel()
	s, fake := newSink(t, eventbridge.SinkConfig{})
	fd, err := ingest.NewFrontDoor[map[string]any](ingest.FrontDoorConfig{Sink: s, Type: "CreateOrder", MaxBodyBytes: ingest.MaxBodyBytesLimit})
	require.NoError(t, err)
	srv := httptest.NewServer(fd)
	t.Cleanup(srv.Close)
	post := func(body string) (*http.Response, string) {
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, string(b)
	}

	resp, body := post(fmt.Sprintf(`{"username":%q}`, strings.Repeat("x", eventbridge.MaxEntrySizeDefault+1)))
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, body)
	require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
	require.Contains(t, body, ingest.ProblemTooLarge)
	require.Empty(t, resp.Header.Get("Retry-After"))
	require.Zero(t, fake.Calls(awsfake.OpPutEvents), "never sent")

	fake.FailEntries(awsfake.OpPutEvents, func(awsfake.Entry) (string, string, bool) {
		return "MalformedDetail", "Detail is malformed.", true
	})
	resp, body = post(`{"username":"lee"}`)
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
	require.Empty(t, resp.Header.Get("Retry-After"))
}
