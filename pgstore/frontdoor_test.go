package pgstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// The front doors find PutKeyed by a type assertion: keep the queues KeyedSinks.
var _ ingest.KeyedSink = (*pgstore.Queue)(nil)

type orderBody struct {
	Name string `json:"name"`
}

// frontDoorRig is a front door on a pgstore queue whose pool goes through a proxy
// that can cut its connections; direct reads the schema around the proxy.
type frontDoorRig struct {
	proxy  *pgtest.Proxy
	direct *pgxpool.Pool
	schema string
	store  *pgstore.Store
	fd     *ingest.FrontDoor[orderBody]
}

func newFrontDoorRig(t *testing.T) *frontDoorRig {
	t.Helper()
	url, schema := pgtest.NewSchema(t)
	proxy, purl := pgtest.NewProxy(t, url)
	cfg, err := pgxpool.ParseConfig(purl)
	require.NoError(t, err)
	pgstore.ConfigurePool(cfg) // every statement's SQL travels with it, for the proxy to see
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	r := &frontDoorRig{proxy: proxy, direct: newPool(t, url), schema: schema, store: newStore(t, pool, schema)}
	q, err := r.store.Queue("orders")
	require.NoError(t, err)
	// Configured as the pizza shop is: an Idempotency store as well as the queue.
	r.fd, err = ingest.NewFrontDoor[orderBody](ingest.FrontDoorConfig{Sink: q, Type: "order.create",
		Idempotency: r.store.Idempotency(), RetryAfter: time.Second})
	require.NoError(t, err)
	return r
}

func (r *frontDoorRig) post(t *testing.T, key, body string) ingest.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(ingest.HeaderIdempotencyKey, key)
	return r.fd.Accept(ctx, ingest.Request{Method: http.MethodPost, Path: "/orders", Header: h.Get, Body: []byte(body)})
}

// ids returns the IDs of the envelopes stored, read around the proxy.
func (r *frontDoorRig) ids(t *testing.T) []string {
	t.Helper()
	rows, err := r.direct.Query(testCtx(t), "SELECT id FROM "+r.schema+".envelopes ORDER BY id")
	require.NoError(t, err)
	var ids []string
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

func acceptedID(t *testing.T, resp ingest.Response) string {
	t.Helper()
	require.Equal(t, http.StatusAccepted, resp.Status, string(resp.Body))
	var acc ingest.Accepted
	require.NoError(t, json.Unmarshal(resp.Body, &acc))
	require.NotEmpty(t, acc.ID)
	return acc.ID
}

func problemType(t *testing.T, resp ingest.Response) string {
	t.Helper()
	var p ingest.Problem
	require.NoError(t, json.Unmarshal(resp.Body, &p), string(resp.Body))
	return p.Type
}

// The connection dies once the server has committed the envelope, before the
// answer reaches the front door: the outcome is unknown to it, so it must not say
// "not stored", and the retry with the same key must find the first request.
func TestFrontDoorConnectionLostAfterCommit(t *testing.T) {
	t.Parallel()
	r := newFrontDoorRig(t)
	cut := r.proxy.Arm(&pgtest.Cut{Match: pgtest.IsCommit, AfterServer: true})
	first := r.post(t, "k1", `{"name":"lee"}`)
	waitCut(t, cut)
	require.Equal(t, http.StatusServiceUnavailable, first.Status, string(first.Body))
	require.Equal(t, ingest.ProblemOutcomeUnknown, problemType(t, first))
	require.Equal(t, "1", first.Header.Get("Retry-After"))
	stored := r.ids(t)
	require.Len(t, stored, 1, "the commit reached the server")

	again := r.post(t, "k1", `{ "name": "lee" }`)
	require.Equal(t, stored[0], acceptedID(t, again), "the retry gets the first request's ID")
	require.Equal(t, "true", again.Header.Get(ingest.HeaderIdempotentReplayed))
	require.Equal(t, stored, r.ids(t), "one envelope for one request")
	require.Equal(t, ingest.ProblemKeyReused, problemType(t, r.post(t, "k1", `{"name":"bob"}`)))
}

// The connection dies right after the statement that inserts the envelope: no
// answer may claim it was not stored if it was, and the retry makes no second one.
func TestFrontDoorConnectionLostAfterInsert(t *testing.T) {
	t.Parallel()
	r := newFrontDoorRig(t)
	cut := r.proxy.Arm(&pgtest.Cut{Match: pgtest.SQLContains("insert into", ".envelopes"), AfterServer: true})
	first := r.post(t, "k1", `{"name":"lee"}`)
	waitCut(t, cut)
	require.Equal(t, http.StatusServiceUnavailable, first.Status, string(first.Body))
	if problemType(t, first) == ingest.ProblemNotPersisted {
		require.Empty(t, r.ids(t), "answered \"not stored\" for a stored request")
	}
	id := acceptedID(t, r.post(t, "k1", `{"name":"lee"}`))
	require.Equal(t, []string{id}, r.ids(t), "one envelope for one request, named by the answer")
}

// The database goes away in the middle of the write and comes back: during the
// envelope's insert (the transaction dies with the connection) or once its COMMIT
// has reached the server (it committed; the answer is lost). Every connection is
// cut and new ones refused until it is back. The first retry after it returns is
// accepted, with the stored envelope's ID; a key claimed before the outage must
// not hold retries off with 409 "still being processed".
func TestFrontDoorNo409AfterOutage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		cut    pgtest.Cut
		stored int // envelopes stored when the outage begins
	}{
		{"AtInsert", pgtest.Cut{Match: pgtest.SQLContains("insert into", ".envelopes"), Outage: true}, 0},
		{"AfterCommit", pgtest.Cut{Match: pgtest.IsCommit, AfterServer: true, Outage: true}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := newFrontDoorRig(t)
			cut := r.proxy.Arm(&tc.cut)
			first := r.post(t, "k1", `{"name":"lee"}`)
			waitCut(t, cut)
			require.Equal(t, http.StatusServiceUnavailable, first.Status, string(first.Body))
			require.Equal(t, http.StatusServiceUnavailable, r.post(t, "k1", `{"name":"lee"}`).Status, "down")
			before := r.ids(t)
			require.Len(t, before, tc.stored)

			r.proxy.SetDown(false)
			up := time.Now()
			var id string
			for {
				resp := r.post(t, "k1", `{"name":"lee"}`)
				require.NotEqual(t, http.StatusConflict, resp.Status, "409 %.1fs after the outage: %s", time.Since(up).Seconds(), resp.Body)
				if resp.Status == http.StatusAccepted {
					id = acceptedID(t, resp)
					break
				}
				require.Less(t, time.Since(up), time.Second, "no 202 within a second of the outage: %d %s", resp.Status, resp.Body)
			}
			if len(before) > 0 {
				require.Equal(t, before, []string{id}, "the retry names the envelope stored before the outage")
			}
			require.Equal(t, []string{id}, r.ids(t))
		})
	}
}

// Concurrent requests with one key wait for each other: one envelope, one ID,
// and no 409.
func TestFrontDoorConcurrentSameKey(t *testing.T) {
	t.Parallel()
	r := newFrontDoorRig(t)
	const n = 8
	resps := make([]ingest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i] = r.post(t, "same", `{"name":"lee"}`)
		}()
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, resp := range resps {
		ids[acceptedID(t, resp)] = true
	}
	require.Len(t, ids, 1)
	require.Len(t, r.ids(t), 1)
}

func TestKeyedPutConformance(t *testing.T) {
	t.Parallel()
	sftest.RunKeyedPutSuite(t, func(t *testing.T) sftest.KeyedQueue { return setup(t).queue(t, "orders") })
}

// A transaction that fails takes the key's record with it: the key stays free.
func TestPutKeyedTxRollsBackTheRecord(t *testing.T) {
	t.Parallel()
	b := setup(t)
	q := b.queue(t, "orders")
	ctx := testCtx(t)
	env, err := storagefirst.NewEnvelope("t", []byte(`{"a":1}`))
	require.NoError(t, err)
	p := storagefirst.KeyedPut{Scope: "s", Key: "k", Envelope: env}
	boom := errors.New("boom")
	err = b.store.WriteTx(ctx, func(tx pgx.Tx) error {
		res, err := q.PutKeyedTx(ctx, tx, p)
		require.NoError(t, err)
		require.True(t, res.Stored)
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = b.store.Idempotency().Get(ctx, "s", "k")
	require.ErrorIs(t, err, storagefirst.ErrNotFound)
	res, err := q.PutKeyed(ctx, p)
	require.NoError(t, err)
	require.True(t, res.Stored)
	st, err := q.Stats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, st.Ready)
}

func waitCut(t *testing.T, cut *pgtest.Cut) {
	t.Helper()
	select {
	case <-cut.Done:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection was never cut: the statement never came")
	}
}

// Without a key the same cut leaves the envelope stored, so the answer must not
// say it is not.
func TestFrontDoorUnkeyedConnectionLostAfterInsert(t *testing.T) {
	t.Parallel()
	r := newFrontDoorRig(t)
	cut := r.proxy.Arm(&pgtest.Cut{Match: pgtest.SQLContains("insert into", ".envelopes"), AfterServer: true})
	first := r.post(t, "", `{"name":"lee"}`)
	waitCut(t, cut)
	require.Equal(t, http.StatusServiceUnavailable, first.Status, string(first.Body))
	require.Len(t, r.ids(t), 1, "the autocommitted insert is stored")
	require.Equal(t, ingest.ProblemOutcomeUnknown, problemType(t, first))
}
