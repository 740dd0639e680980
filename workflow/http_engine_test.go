package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// brokenStore counts creates and fails every update while broken.
type brokenStore struct {
	*workflow.MemoryStore
	broken  atomic.Bool
	creates atomic.Int32
}

func (s *brokenStore) Create(ctx context.Context, e workflow.Execution) error {
	s.creates.Add(1)
	return s.MemoryStore.Create(ctx, e)
}

func (s *brokenStore) Update(ctx context.Context, e workflow.Execution) error {
	if s.broken.Load() {
		return errors.New("store down")
	}
	return s.MemoryStore.Update(ctx, e)
}

type httpAnswer struct {
	code   int
	execID string
	body   map[string]any
}

func post(t *testing.T, url, key, body string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := httpAnswer{code: resp.StatusCode, execID: resp.Header.Get("X-Execution-Id")}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func TestAnAnswerNeverSaysNotStartedAfterATaskRan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var calls atomic.Int32
	wf, err := workflow.New("cancel", workflow.Definition{StartAt: "T", MaxInputBytes: 64,
		ValidateInput: func(in json.RawMessage) error {
			var v struct{ ID string }
			if json.Unmarshal(in, &v) != nil || v.ID == "" {
				return errors.New("give an ID")
			}
			return nil
		},
		States: map[string]workflow.State{"T": workflow.Task{Run: task(func(context.Context, json.RawMessage) (json.RawMessage, error) {
			calls.Add(1)
			return json.RawMessage(`{"status":"cancelled"}`), nil
		}), End: true}}})
	require.NoError(t, err)
	clock := sftest.NewFakeClock(time.Now())
	store := &brokenStore{MemoryStore: workflow.NewMemoryStore()}
	e, err := workflow.NewEngine(workflow.EngineConfig{Store: store, DeadLetters: sftest.NewMemoryQueue(nil), Clock: clock}, wf)
	require.NoError(t, err)
	h, err := workflow.NewHTTPHandler(workflow.HTTPConfig{Starter: e.Starter(wf)})
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	defer srv.Close()

	// A retried request with the same Idempotency-Key gets the first answer; the
	// task ran once.
	first := post(t, srv.URL, "req-1", `{"ID":"o1"}`)
	require.Equal(t, http.StatusOK, first.code)
	again := post(t, srv.URL, "req-1", `{"ID":"o1"}`)
	require.Equal(t, http.StatusOK, again.code)
	require.Equal(t, first.execID, again.execID)
	require.Equal(t, int32(1), calls.Load())
	require.Equal(t, http.StatusConflict, post(t, srv.URL, "req-1", `{"ID":"o2"}`).code, "same key, other body")
	require.Equal(t, int32(1), calls.Load())

	// The store fails after the task ran: 500 with the execution ID, not 503
	// "not started; retry".
	store.broken.Store(true)
	stop := make(chan struct{})
	go func() { // the engine retries the write on its clock
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
				if clock.Waiters() > 1 {
					clock.Advance(100 * time.Millisecond)
				}
			}
		}
	}()
	a := post(t, srv.URL, "req-2", `{"ID":"o3"}`)
	close(stop)
	require.Equal(t, http.StatusInternalServerError, a.code)
	require.NotEmpty(t, a.execID)
	require.Equal(t, a.execID, a.body["execution_id"])
	require.NotEmpty(t, a.body["instance"], "the correlation ID")
	require.Equal(t, workflow.ProblemTypePrefix+"workflow-outcome-unknown", a.body["type"])
	require.Equal(t, int32(2), calls.Load())

	// The store is back, a sweep ends the execution; the retry finds it and does
	// not run the task again.
	store.broken.Store(false)
	clock.Advance(time.Hour)
	n, err := e.Sweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	retry := post(t, srv.URL, "req-2", `{"ID":"o3"}`)
	require.Equal(t, http.StatusBadGateway, retry.code, "the first execution's outcome: interrupted, dead-lettered")
	require.Equal(t, a.execID, retry.body["execution_id"])
	require.Equal(t, workflow.ErrorInterrupted, retry.body["error"])
	require.Equal(t, int32(2), calls.Load(), "not run again")

	// What the workflow can check is checked before anything is stored.
	creates := store.creates.Load()
	require.Equal(t, http.StatusRequestEntityTooLarge, post(t, srv.URL, "", `{"ID":"`+strings.Repeat("x", 100)+`"}`).code)
	require.Equal(t, http.StatusBadRequest, post(t, srv.URL, "", `{"name":"no id"}`).code)
	require.Equal(t, http.StatusBadRequest, post(t, srv.URL, strings.Repeat("k", 81), `{"ID":"o4"}`).code, "a bounded key")
	require.Equal(t, creates, store.creates.Load(), "nothing stored")
}
