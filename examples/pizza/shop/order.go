package shop

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Order statuses.
const (
	StatusAccepted  = "accepted"
	StatusCreated   = "created"
	StatusCancelled = "cancelled"
	StatusFailed    = "failed"
)

// Order is a pizza order.
type Order struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Items     []string  `json:"items,omitempty"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// CreateOrder is the body of POST /orders. {"username": "..."} alone, as in the
// reference system, is enough.
type CreateOrder struct {
	Username string   `json:"username"`
	Items    []string `json:"items,omitempty"`
}

// Limits of a create request, in characters (Unicode code points, as JSON
// Schema's maxLength and Postgres's varchar count them, not bytes). The API's
// JSON-schema model on AWS (infra/lib/pizza-stack.ts) uses the same numbers; both
// are held to testdata/create-order-cases.json.
const (
	// MaxUsername is the reference table's varchar(45).
	MaxUsername = 45
	// MaxItems bounds the items of an order.
	MaxItems = 20
	// MaxItemLength bounds one item.
	MaxItemLength = 64
)

// Validate checks a create request.
func (c CreateOrder) Validate() error {
	if err := validUsername(c.Username); err != nil {
		return err
	}
	if len(c.Items) > MaxItems {
		return fmt.Errorf("at most %d items", MaxItems)
	}
	for _, it := range c.Items {
		if it == "" || utf8.RuneCountInString(it) > MaxItemLength {
			return fmt.Errorf("items are 1 to %d characters", MaxItemLength)
		}
	}
	return nil
}

func validUsername(u string) error {
	if u == "" {
		return errors.New("username is required")
	}
	if utf8.RuneCountInString(u) > MaxUsername {
		return fmt.Errorf("username is longer than %d characters", MaxUsername)
	}
	return nil
}

// CancelOrder is the body of PUT /orders: the order's id, or its username (the
// reference system's {"username": "..."}: the customer's latest open order).
type CancelOrder struct {
	ID       string `json:"id,omitempty"`
	Username string `json:"username,omitempty"`
	// Attempt identifies the cancel request (not the client's: Shop.CancelOrder
	// sets it from CancelInput.RequestID or the workflow execution's ID). A store
	// records it on the order it cancels, and a retry with the same Attempt
	// returns that order rather than cancelling another ("the latest open order"
	// of a username is another one once the first is cancelled).
	Attempt string `json:"-"`
}

// Validate checks a cancel request.
func (c CancelOrder) Validate() error {
	if c.ID == "" && c.Username == "" {
		return errors.New("give the order's id or username")
	}
	if c.Username != "" {
		return validUsername(c.Username)
	}
	return nil
}

// Errors of the order table.
var (
	ErrNotFound       = errors.New("shop: order not found")
	ErrNotCancellable = errors.New("shop: order cannot be cancelled in its state")
)

// ItemsOrEmpty returns items, or an empty list for nil (stored as "[]").
func ItemsOrEmpty(items []string) []string {
	if items == nil {
		return []string{}
	}
	return items
}

// Page is the answer of GET /orders: up to limit orders in ID order. When
// the page is full, Next is the cursor of the next page (the after parameter)
// and NextURL the ready-to-follow link to it (also in the Link header, rel
// "next"), a relative reference ("?after=...&limit=...") to resolve against
// the URL of the request, so it holds behind a path prefix such as an API
// Gateway stage; on the last page both are empty.
type Page struct {
	Orders  []Order `json:"orders"`
	Next    string  `json:"next,omitempty"`
	NextURL string  `json:"next_url,omitempty"`
}

// TimeFormat is the format of every timestamp the shop answers: RFC 3339 in
// UTC with microseconds, the precision both stores keep.
const TimeFormat = "2006-01-02T15:04:05.000000Z07:00"

// MarshalJSON encodes o with its times in TimeFormat, so an order reads the
// same from every answer (a cancel's and a GET's).
func (o Order) MarshalJSON() ([]byte, error) {
	type plain Order
	return json.Marshal(struct {
		plain
		CreatedAt string `json:"created_at"`
		UpdatedAt string `json:"updated_at"`
	}{plain(o), o.CreatedAt.UTC().Truncate(time.Microsecond).Format(TimeFormat), o.UpdatedAt.UTC().Truncate(time.Microsecond).Format(TimeFormat)})
}
