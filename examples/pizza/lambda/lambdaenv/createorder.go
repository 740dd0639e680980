package lambdaenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// CreateOrderDetail is the detail of a CreateOrder event, as API Gateway's
// request template writes it (infra/lib/templates.ts, putEventsRequest). Fields
// it does not know yet are ignored, so the API may add some before the function
// is deployed.
type CreateOrderDetail struct {
	// ID is the order's ID: RequestedAtMs, 13 digits, "-", RequestID. IDs sort in
	// placement order.
	ID string `json:"id"`
	// RequestedAtMs is when API Gateway received the request (epoch milliseconds).
	RequestedAtMs int64 `json:"requested_at_ms"`
	// RequestID is API Gateway's request ID.
	RequestID string `json:"request_id"`
	// IdempotencyKey is the request's Idempotency-Key header, if any: requests with
	// the same key make one order.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
	// Order is the request body (a shop.CreateOrder).
	Order json.RawMessage `json:"order"`
}

// ErrBadCreateEvent marks a CreateOrder event that does not hold a
// CreateOrderDetail; it is permanent (retrying cannot help).
var ErrBadCreateEvent = errors.New("lambdaenv: not a CreateOrder event")

var orderID = regexp.MustCompile(`^[0-9]{13}-[A-Za-z0-9-]{1,64}$`)

// CreateOrderEnvelope returns the envelope a CreateOrder event carries: the
// detail's ID, request time and Idempotency-Key, the order as payload. A
// redelivered event, and a client's retry with the same key, map to the same
// idempotency key (the Idempotency-Key, else the ID). API Gateway accepts any
// header, so a key an envelope cannot hold (over storagefirst.MaxTypeLength
// bytes, not UTF-8, or with a NUL) is replaced by HashedKeyPrefix and its
// SHA-256 in hex: the order is made, and a retry with the same key still matches.
func CreateOrderEnvelope(ev events.EventBridgeEvent) (storagefirst.Envelope, error) {
	var d CreateOrderDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return storagefirst.Envelope{}, fmt.Errorf("%w: %w: event %q: %w", storagefirst.ErrInvalidEnvelope, ErrBadCreateEvent, ev.ID, err)
	}
	if !orderID.MatchString(d.ID) || d.ID != strconv.FormatInt(d.RequestedAtMs, 10)+"-"+d.RequestID || len(d.Order) == 0 {
		return storagefirst.Envelope{}, fmt.Errorf("%w: %w: event %q: id %q, request time %d, request id %q, order of %d bytes",
			storagefirst.ErrInvalidEnvelope, ErrBadCreateEvent, ev.ID, d.ID, d.RequestedAtMs, d.RequestID, len(d.Order))
	}
	env := storagefirst.Envelope{ID: d.ID, Type: shop.TypeCreateOrder, Source: ev.Source,
		AcceptedAt: time.UnixMilli(d.RequestedAtMs).UTC(), IdempotencyKey: envelopeKey(d.IdempotencyKey), CorrelationID: d.RequestID,
		Payload: d.Order}
	if err := env.Normalize(); err != nil {
		return storagefirst.Envelope{}, err
	}
	return env, env.Validate()
}

// HashedKeyPrefix starts the idempotency key CreateOrderEnvelope makes of an
// Idempotency-Key an envelope cannot hold.
const HashedKeyPrefix = "sha256:"

// envelopeKey is key if an envelope can hold it, else its fixed hash.
func envelopeKey(key string) string {
	if len(key) <= storagefirst.MaxTypeLength && utf8.ValidString(key) && !strings.ContainsRune(key, 0) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return HashedKeyPrefix + hex.EncodeToString(sum[:])
}

// CreateOrderTarget is the EventBridge rule's Lambda target: h runs on each
// event's envelope; an event that is not a CreateOrder is a permanent error.
// Lambda's asynchronous invocation retries errors, then hands the event to the
// on-failure destination.
func CreateOrderTarget(h storagefirst.Handler) func(ctx context.Context, ev events.EventBridgeEvent) error {
	return func(ctx context.Context, ev events.EventBridgeEvent) error {
		env, err := CreateOrderEnvelope(ev)
		if err != nil {
			return storagefirst.Permanent(err)
		}
		return h.Handle(ctx, env)
	}
}
