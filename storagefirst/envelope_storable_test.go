package storagefirst_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TestValidateRejectsWhatStoresCannotHold: NUL bytes (Postgres text and jsonb
// refuse them) and invalid UTF-8 anywhere, the payload included; a \u0000 escape
// inside the payload's JSON is fine.
func TestValidateRejectsWhatStoresCannotHold(t *testing.T) {
	t.Parallel()
	base, err := storagefirst.NewEnvelope("t", []byte(`{"a":1}`))
	require.NoError(t, err)
	for name, mutate := range map[string]func(*storagefirst.Envelope){
		"NUL in type":           func(e *storagefirst.Envelope) { e.Type = "a\x00b" },
		"NUL in id":             func(e *storagefirst.Envelope) { e.ID += "\x00" },
		"NUL in source":         func(e *storagefirst.Envelope) { e.Source = "\x00" },
		"NUL in idempotency":    func(e *storagefirst.Envelope) { e.IdempotencyKey = "k\x00" },
		"NUL in correlation":    func(e *storagefirst.Envelope) { e.CorrelationID = "c\x00" },
		"NUL in metadata value": func(e *storagefirst.Envelope) { e.Metadata = map[string]string{"k": "v\x00"} },
		"NUL in metadata key":   func(e *storagefirst.Envelope) { e.Metadata = map[string]string{"k\x00": "v"} },
		"invalid UTF-8 payload": func(e *storagefirst.Envelope) { e.Payload = []byte("\"\xff\"") },
	} {
		e := base.Clone()
		mutate(&e)
		err := e.Validate()
		require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope, name)
		valid, failed := storagefirst.ValidateForPut([]storagefirst.Envelope{e})
		require.Empty(t, valid, name)
		require.Len(t, failed, 1, name)
		require.True(t, storagefirst.IsPermanent(failed[0].Err), name)
	}
	ok := base.Clone()
	ok.Payload = []byte(`{"s":"a\u0000b"}`)
	require.NoError(t, ok.Validate())
}
