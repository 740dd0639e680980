package workflow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxExecutionNameLength bounds an execution name, as Step Functions does.
const MaxExecutionNameLength = 80

type nameKey struct{}

// WithExecutionName returns a context under which Engine.StartSync starts the
// execution named name, at most once per workflow: a second start with the same
// name finds the first execution (and waits, within its context, for its end)
// instead of running the workflow again. The HTTP front door takes the name from
// the Idempotency-Key header. A name is 1 to MaxExecutionNameLength printable
// characters without spaces; it is kept until the execution is pruned.
func WithExecutionName(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, nameKey{}, name)
}

// ExecutionNameFromContext returns the name WithExecutionName put in ctx.
func ExecutionNameFromContext(ctx context.Context) (string, bool) {
	n, ok := ctx.Value(nameKey{}).(string)
	return n, ok
}

func checkExecutionName(name string) error {
	if name == "" || len(name) > MaxExecutionNameLength || !utf8.ValidString(name) {
		return fmt.Errorf("%w: an execution name has 1 to %d characters", ErrInvalidInput, MaxExecutionNameLength)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: an execution name has no spaces or control characters", ErrInvalidInput)
		}
	}
	return nil
}

// executionID derives the ID of a named execution from the workflow and the name.
func executionID(workflow, name string) string {
	h := sha256.Sum256([]byte(workflow + "\x00" + name))
	return "x" + hex.EncodeToString(h[:16])
}

// sameJSON reports whether a and b are the same JSON value, whatever the spacing.
func sameJSON(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
