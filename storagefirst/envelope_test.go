package storagefirst_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestEnvelopeJSONRoundTripIsLossless(t *testing.T) {
	t.Parallel()
	env, err := storagefirst.NewEnvelope("pizza.order.create", []byte(`{ "username" : "lee", "n": 1.50e3 }`))
	require.NoError(t, err)
	env.Source = "com.lee.pizza"
	env.IdempotencyKey = "key-1"
	env.CorrelationID = "corr"
	env.Attempt = 2
	env.Metadata = map[string]string{"tenant": "a", "traceparent": "00-x"}
	require.Equal(t, `{"username":"lee","n":1.50e3}`, string(env.Payload), "payload is compacted, not reformatted")

	b, err := json.Marshal(env)
	require.NoError(t, err)
	var back storagefirst.Envelope
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, env, back)
	require.Equal(t, len(b), env.EncodedSize())

	// Without a payload or metadata, too.
	bare := storagefirst.Envelope{ID: storagefirst.NewID(), Type: "t", AcceptedAt: time.Unix(1, 5).UTC()}
	b, err = json.Marshal(bare)
	require.NoError(t, err)
	back = storagefirst.Envelope{}
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, bare, back)
}

func TestEnvelopeKeyDefaultsToID(t *testing.T) {
	t.Parallel()
	env, err := storagefirst.NewEnvelope("t", nil)
	require.NoError(t, err)
	require.Equal(t, env.ID, env.Key())
	env.IdempotencyKey = "k"
	require.Equal(t, "k", env.Key())
}

func TestEnvelopeValidateReportsEveryProblem(t *testing.T) {
	t.Parallel()
	env := storagefirst.Envelope{
		Source:   strings.Repeat("s", storagefirst.MaxTypeLength+1),
		Attempt:  -1,
		Metadata: map[string]string{"": "x"},
		Payload:  []byte(`{"open":`),
	}
	err := env.Validate()
	require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
	for _, want := range []string{"missing id", "missing type", "source is 257 bytes", "negative attempt", "metadata entry", "payload is not valid JSON"} {
		require.Contains(t, err.Error(), want)
	}
	_, err = storagefirst.NewEnvelope("t", []byte("not json"))
	require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
	_, err = storagefirst.NewEnvelope("", nil)
	require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
}

func TestEnvelopeCheckSize(t *testing.T) {
	t.Parallel()
	env, err := storagefirst.NewEnvelopeJSON("t", map[string]string{"x": strings.Repeat("a", 1000)})
	require.NoError(t, err)
	require.NoError(t, env.CheckSize(env.EncodedSize()))
	err = env.CheckSize(env.EncodedSize() - 1)
	require.ErrorIs(t, err, storagefirst.ErrTooLarge)
}

func TestEnvelopeCloneIsDeep(t *testing.T) {
	t.Parallel()
	env, err := storagefirst.NewEnvelope("t", []byte(`{"a":1}`))
	require.NoError(t, err)
	env.Metadata = map[string]string{"k": "v"}
	c := env.Clone()
	c.Metadata["k"] = "changed"
	c.Payload[2] = 'b'
	require.Equal(t, "v", env.Metadata["k"])
	require.Equal(t, `{"a":1}`, string(env.Payload))
}

func TestNewIDIsUUIDv7AndSortsByTime(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	prev := ""
	for range 1000 {
		id := storagefirst.NewID()
		require.Len(t, id, 36)
		require.Equal(t, byte('7'), id[14], "version nibble")
		require.Contains(t, "89ab", string(id[19]), "variant bits")
		require.False(t, seen[id])
		seen[id] = true
		require.GreaterOrEqual(t, id[:18], prev[:min(len(prev), 18)], "time part never goes backwards")
		prev = id
	}
}
