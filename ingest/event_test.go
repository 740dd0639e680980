package ingest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/ingest"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

type ptrValidated struct{ N int }

func (p *ptrValidated) Validate() error {
	if p.N < 0 {
		return errors.New("negative")
	}
	return nil
}

func TestDecode(t *testing.T) {
	t.Parallel()
	o, err := ingest.Decode[order]([]byte(`{"username":"lee","items":["margherita"]}`), ingest.DecodeConfig{})
	require.NoError(t, err)
	require.Equal(t, order{Username: "lee", Items: []string{"margherita"}}, o)

	for _, tc := range []struct {
		in   string
		want error
	}{
		{`{"username":"lee","x":1}`, ingest.ErrUnknownField},
		{`{"username":""}`, ingest.ErrValidation},
		{`{"username":"a"}x`, ingest.ErrMalformed},
		{`nul`, ingest.ErrMalformed},
		{``, ingest.ErrMalformed},
	} {
		_, err := ingest.Decode[order]([]byte(tc.in), ingest.DecodeConfig{})
		require.ErrorIs(t, err, tc.want, tc.in)
		require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope, tc.in)
	}
	_, err = ingest.Decode[order]([]byte(`{"username":"lee","x":1}`), ingest.DecodeConfig{AllowUnknownFields: true})
	require.NoError(t, err)
	_, err = ingest.Decode[order](make([]byte, 11), ingest.DecodeConfig{MaxBytes: 10})
	require.ErrorIs(t, err, storagefirst.ErrTooLarge)

	// Validate on a pointer receiver, and on a nil pointer (no panic).
	_, err = ingest.Decode[ptrValidated]([]byte(`{"N":-1}`), ingest.DecodeConfig{})
	require.ErrorIs(t, err, ingest.ErrValidation)
	_, err = ingest.Decode[*ptrValidated]([]byte(`null`), ingest.DecodeConfig{})
	require.ErrorIs(t, err, ingest.ErrValidation)

	// null is not a value of a non-pointer type, and bytes that are not UTF-8 are
	// refused rather than replaced.
	_, err = ingest.Decode[map[string]any]([]byte(" null\n"), ingest.DecodeConfig{})
	require.ErrorIs(t, err, ingest.ErrMalformed)
	_, err = ingest.Decode[struct{ A string }]([]byte("{\"A\":\"\xff\xfe\"}"), ingest.DecodeConfig{})
	require.ErrorIs(t, err, ingest.ErrMalformed)
	require.ErrorContains(t, err, "UTF-8")
}

func TestHandlerForMakesUndecodablePayloadsPermanent(t *testing.T) {
	t.Parallel()
	var got ingest.Event[order]
	h := ingest.HandlerFor(ingest.DecodeConfig{}, func(_ context.Context, ev ingest.Event[order]) error {
		got = ev
		return nil
	})
	env, err := storagefirst.NewEnvelope("order", []byte(`{"username":"lee"}`))
	require.NoError(t, err)
	require.NoError(t, h.Handle(context.Background(), env))
	require.Equal(t, "lee", got.Data.Username)
	require.Equal(t, env.ID, got.ID)

	env.Payload = []byte(`{"username":""}`)
	err = h.Handle(context.Background(), env)
	require.True(t, storagefirst.IsPermanent(err))
	require.ErrorIs(t, err, ingest.ErrValidation)
	require.ErrorContains(t, err, env.ID)
}

// FuzzDecode: whatever the bytes, decoding answers a value or an error, never a
// panic, and an accepted value re-encodes into something that decodes the same.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"username":"lee"}`, `{"username":"a","items":["x","y"]}`, `{}`, `[]`, `null`,
		`{"username":"\u0000"}`, `{"username":"lee"}{}`, `{"items":[1]}`, "\xff\xfe", `{"username":"` + "\u2603" + `"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ingest.Decode[order](data, ingest.DecodeConfig{MaxBytes: 4096})
		if err != nil {
			require.True(t, errors.Is(err, storagefirst.ErrInvalidEnvelope) || errors.Is(err, storagefirst.ErrTooLarge), err)
			return
		}
		require.NoError(t, o.Validate())
	})
}
