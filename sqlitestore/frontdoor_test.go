package sqlitestore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/sqlitestore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

// The front doors find PutKeyed by a type assertion: keep the queues KeyedSinks.
var _ ingest.KeyedSink = (*sqlitestore.Queue)(nil)

type orderBody struct {
	Name string `json:"name"`
}

// afterCommit is a queue whose writes commit and then fail as fail says: a crash
// (a panic: nothing after the commit runs) or a lost answer.
type afterCommit struct {
	q    *sqlitestore.Queue
	fail func() error
}

func (a afterCommit) Put(ctx context.Context, envs ...storagefirst.Envelope) error {
	if err := a.q.Put(ctx, envs...); err != nil {
		return err
	}
	return a.fail()
}

func (a afterCommit) PutKeyed(ctx context.Context, p storagefirst.KeyedPut) (storagefirst.KeyedResult, error) {
	res, err := a.q.PutKeyed(ctx, p)
	if err != nil {
		return res, err
	}
	return storagefirst.KeyedResult{}, a.fail()
}

var errCrash = errors.New("crash")

func frontDoor(t *testing.T, sink storagefirst.Sink, st *sqlitestore.Store) *ingest.FrontDoor[orderBody] {
	t.Helper()
	fd, err := ingest.NewFrontDoor[orderBody](ingest.FrontDoorConfig{Sink: sink, Type: "order.create",
		Idempotency: st.Idempotency()})
	require.NoError(t, err)
	return fd
}

func post(fd *ingest.FrontDoor[orderBody], key, body string) (resp ingest.Response, crashed bool) {
	defer func() {
		if r := recover(); r != nil {
			if r != errCrash {
				panic(r)
			}
			crashed = true
		}
	}()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set(ingest.HeaderIdempotencyKey, key)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return fd.Accept(ctx, ingest.Request{Method: http.MethodPost, Path: "/orders", Header: h.Get, Body: []byte(body)}), false
}

func storedIDs(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT id FROM envelopes ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
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
	return acc.ID
}

// The process dies between the envelope's commit and the answer, and starts again
// on the same file: the client's retry with the same key finds the first request.
func TestFrontDoorCrashAfterCommit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := sqlitestore.Open(context.Background(), path, sqlitestore.Config{})
	require.NoError(t, err)
	q, err := st.Queue("orders")
	require.NoError(t, err)
	_, crashed := post(frontDoor(t, afterCommit{q, func() error { panic(errCrash) }}, st), "k1", `{"name":"lee"}`)
	require.True(t, crashed)
	require.NoError(t, st.Close())

	st = open(t, path) // the restart
	stored := storedIDs(t, st.ReadDB())
	require.Len(t, stored, 1)
	q, err = st.Queue("orders")
	require.NoError(t, err)
	resp, _ := post(frontDoor(t, q, st), "k1", `{"name":"lee"}`)
	require.Equal(t, stored[0], acceptedID(t, resp), "the retry gets the first request's ID")
	require.Equal(t, "true", resp.Header.Get(ingest.HeaderIdempotentReplayed))
	require.Equal(t, stored, storedIDs(t, st.ReadDB()), "one envelope for one request")
}

// The commit happens but its answer is lost: the front door says the outcome is
// unknown, not "not stored", and the immediate retry gets the first ID, not 409.
func TestFrontDoorCommitAnswerLost(t *testing.T) {
	t.Parallel()
	st := fresh(t)
	q, err := st.Queue("orders")
	require.NoError(t, err)
	lost := func() error { return fmt.Errorf("%w: disk I/O error", storagefirst.ErrOutcomeUnknown) }
	fd := frontDoor(t, afterCommit{q, lost}, st)
	first, _ := post(fd, "k1", `{"name":"lee"}`)
	require.Equal(t, http.StatusServiceUnavailable, first.Status, string(first.Body))
	var p ingest.Problem
	require.NoError(t, json.Unmarshal(first.Body, &p))
	require.Equal(t, ingest.ProblemOutcomeUnknown, p.Type)
	require.NotEmpty(t, first.Header.Get("Retry-After"))
	stored := storedIDs(t, st.ReadDB())
	require.Len(t, stored, 1)

	resp, _ := post(frontDoor(t, q, st), "k1", `{"name":"lee"}`)
	require.Equal(t, stored[0], acceptedID(t, resp))
	require.Equal(t, stored, storedIDs(t, st.ReadDB()))
}

func TestKeyedPutConformance(t *testing.T) {
	t.Parallel()
	sftest.RunKeyedPutSuite(t, func(t *testing.T) sftest.KeyedQueue {
		q, err := fresh(t).Queue("orders")
		require.NoError(t, err)
		return q
	})
}

// A transaction that fails takes the key's record with it: the key stays free.
func TestPutKeyedTxRollsBackTheRecord(t *testing.T) {
	t.Parallel()
	st := fresh(t)
	q, err := st.Queue("orders")
	require.NoError(t, err)
	ctx := context.Background()
	env, err := storagefirst.NewEnvelope("t", []byte(`{"a":1}`))
	require.NoError(t, err)
	p := storagefirst.KeyedPut{Scope: "s", Key: "k", Envelope: env}
	boom := errors.New("boom")
	err = st.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := q.PutKeyedTx(ctx, tx, p)
		require.NoError(t, err)
		require.True(t, res.Stored)
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = st.Idempotency().Get(ctx, "s", "k")
	require.ErrorIs(t, err, storagefirst.ErrNotFound)
	res, err := q.PutKeyed(ctx, p)
	require.NoError(t, err)
	require.True(t, res.Stored)
	require.Len(t, storedIDs(t, st.ReadDB()), 1)
}
