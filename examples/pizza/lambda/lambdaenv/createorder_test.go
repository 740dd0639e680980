package lambdaenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// goldenEvent is the event API Gateway's request template makes of a POST
// /orders with an Idempotency-Key (rendered by infra's templates.test.ts), as the
// rule delivers it.
func goldenEvent(t *testing.T) events.EventBridgeEvent {
	b, err := os.ReadFile("testdata/put-events-request.json")
	require.NoError(t, err)
	var entry struct{ Source, DetailType, Detail string }
	require.NoError(t, json.Unmarshal(b, &entry))
	return events.EventBridgeEvent{Version: "0", ID: "6a7e8feb-b491-4cf7-a9f1-bf3703467718", DetailType: entry.DetailType,
		Source: entry.Source, Time: time.Now().UTC(), Detail: json.RawMessage(entry.Detail)}
}

func TestCreateOrderEnvelopeFromTheTemplate(t *testing.T) {
	env, err := lambdaenv.CreateOrderEnvelope(goldenEvent(t))
	require.NoError(t, err)
	require.Equal(t, "1767225600123-c0ffee00-0000-4000-8000-000000000001", env.ID, "the order id, not the event id")
	require.Equal(t, time.UnixMilli(1767225600123).UTC(), env.AcceptedAt)
	require.Equal(t, `k-1"'/é`, env.IdempotencyKey)
	require.Equal(t, "c0ffee00-0000-4000-8000-000000000001", env.CorrelationID)
	require.Equal(t, shop.TypeCreateOrder, env.Type)
	var o shop.CreateOrder
	require.NoError(t, json.Unmarshal(env.Payload, &o))
	require.Equal(t, shop.CreateOrder{Username: `O'Brien "the" é🍕`, Items: []string{"margherita", `a/b\c`}}, o)
	require.NoError(t, o.Validate())

	for _, detail := range []string{`{}`, `"x"`, `{"id":"abc","requested_at_ms":1,"request_id":"r","order":{}}`,
		`{"id":"1767225600123-a","requested_at_ms":1767225600123,"request_id":"b","order":{}}`,
		`{"id":"1767225600123-a","requested_at_ms":1767225600123,"request_id":"a"}`} {
		_, err := lambdaenv.CreateOrderEnvelope(events.EventBridgeEvent{ID: "e", Detail: json.RawMessage(detail)})
		require.ErrorIs(t, err, lambdaenv.ErrBadCreateEvent, detail)
		require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope, detail)
	}
}

// On AWS a client's retry of POST /orders with the same Idempotency-Key is a new
// request (new request id and time), hence a new event: the function makes one
// order of them. Redeliveries of one event make one order too, and fields the
// function does not know yet are ignored.
func TestCreateOrderTargetOnPostgres(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url, schema := pgtest.NewSchema(t)
	b, err := pgshop.OpenPostgres(ctx, url, schema)
	require.NoError(t, err)
	defer b.Close()
	h, err := shop.CreateHandlerFor(b.Orders(), b.Idempotency()) // as the function wires it
	require.NoError(t, err)
	target := lambdaenv.CreateOrderTarget(h)

	event := func(ms int64, requestID, key, order string, extra string) events.EventBridgeEvent {
		d := map[string]any{"id": strconv.FormatInt(ms, 10) + "-" + requestID,
			"requested_at_ms": ms, "request_id": requestID, "order": json.RawMessage(order)}
		if key != "" {
			d["idempotency_key"] = key
		}
		raw, _ := json.Marshal(d)
		if extra != "" {
			raw = append(raw[:len(raw)-1], []byte(","+extra+"}")...)
		}
		return events.EventBridgeEvent{ID: "ev-" + requestID, Source: "com.lee.pizza", DetailType: "CreateOrder", Detail: raw}
	}
	first := event(1767225600000, "r1", "amy-1", `{"username":"amy"}`, "")
	require.NoError(t, target(ctx, first))
	require.NoError(t, target(ctx, first), "a redelivery")
	require.NoError(t, target(ctx, event(1767225605000, "r2", "amy-1", `{"username":"amy"}`, "")), "the client's retry")
	// A newer API may send fields this function does not know, at both levels.
	require.NoError(t, target(ctx, event(1767225606000, "r3", "", `{"username":"bob","gift":true}`, `"channel":"app"`)))
	require.NoError(t, target(ctx, event(1767225601000, "r4", "", `{"username":"cat"}`, "")))

	all, err := b.Orders().List(ctx, "", 100)
	require.NoError(t, err)
	var got []string
	for _, o := range all {
		got = append(got, o.Username+"@"+o.ID)
		require.Equal(t, shop.StatusCreated, o.Status)
	}
	require.Equal(t, []string{"amy@1767225600000-r1", "cat@1767225601000-r4", "bob@1767225606000-r3"}, got,
		"one order per key, listed in placement order")

	// API Gateway takes any Idempotency-Key: one over the envelope's limit (or not
	// UTF-8) is hashed, so the order is made, once, and the retry matches. (JSON
	// turns the second key's invalid byte into U+FFFD; it stays too long.)
	long := strings.Repeat("k", storagefirst.MaxTypeLength+1)
	for i, key := range []string{long, long + "\xff"} {
		rid := "long" + strconv.Itoa(i)
		ev := event(1767225607000+int64(i), rid, "", `{"username":"dan"}`, "")
		var d map[string]any
		require.NoError(t, json.Unmarshal(ev.Detail, &d))
		d["idempotency_key"] = key
		ev.Detail, _ = json.Marshal(d)
		env, err := lambdaenv.CreateOrderEnvelope(ev)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(env.IdempotencyKey, lambdaenv.HashedKeyPrefix), env.IdempotencyKey)
		require.LessOrEqual(t, len(env.IdempotencyKey), storagefirst.MaxTypeLength)
		require.NoError(t, target(ctx, ev), "key %d", i)
		retry := ev
		retry.Detail = []byte(strings.Replace(string(ev.Detail), rid, rid+"x", -1))
		retry.Detail = []byte(strings.Replace(string(retry.Detail), "1767225607", "1767225608", -1))
		require.NoError(t, target(ctx, retry), "the retry of key %d", i)
	}
	all, err = b.Orders().List(ctx, "", 100)
	require.NoError(t, err)
	require.Len(t, all, 5, "one order per long key")

	err = target(ctx, events.EventBridgeEvent{ID: "bad", Detail: json.RawMessage(`{"username":"raw body"}`)})
	require.True(t, storagefirst.IsPermanent(err), "%v", err)
	require.True(t, errors.Is(err, lambdaenv.ErrBadCreateEvent))
}
