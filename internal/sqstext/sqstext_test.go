package sqstext

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEscapeJSONKeepsTheMeaning(t *testing.T) {
	t.Parallel()
	in := map[string]string{"a": "x\ufffey\uffff\x01\x0b\t\n\r\u00e9\U0001F355", "b": "plain"}
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.False(t, Valid(string(b)))
	out := EscapeJSON(b)
	require.True(t, Valid(string(out)), "%q", out)
	var back map[string]string
	require.NoError(t, json.Unmarshal(out, &back))
	require.Equal(t, in, back)
	plain := []byte(`{"a":"b"}`)
	require.Equal(t, plain, EscapeJSON(plain))
}

func TestSanitize(t *testing.T) {
	t.Parallel()
	require.Equal(t, "a\ufffdb\ufffdc\td", Sanitize("a\x00b\uffffc\td"))
	require.Equal(t, "a\ufffdb", Sanitize("a\xffb"))
	require.Equal(t, "ok", Sanitize("ok"))
}

func FuzzEscapeJSON(f *testing.F) {
	f.Add("x\ufffe\x00")
	f.Add("\U0001F355")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := json.Marshal(s)
		require.NoError(t, err)
		out := EscapeJSON(b)
		require.True(t, Valid(string(out)))
		var back string
		require.NoError(t, json.Unmarshal(out, &back))
		var want string
		require.NoError(t, json.Unmarshal(b, &want))
		require.Equal(t, want, back)
		require.True(t, Valid(Sanitize(s)))
	})
}
