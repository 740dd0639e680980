package console_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/console"
)

// A basic-auth user with an empty name or password would admit anyone who sends
// it: New refuses such an Auth, and RequireAuth logs it and never admits it.
func TestEmptyCredentialsAreRefused(t *testing.T) {
	for name, users := range map[string]map[string]string{
		"empty password":  {"ops": ""},
		"empty user name": {"": "secret"},
	} {
		t.Run(name, func(t *testing.T) {
			auth := console.Auth{Users: users}
			require.ErrorIs(t, auth.Validate(), console.ErrEmptyCredential)
			_, err := console.New(console.Config{Auth: auth})
			require.ErrorIs(t, err, console.ErrEmptyCredential)

			var logs bytes.Buffer
			h := console.RequireAuth(auth, slog.New(slog.NewTextHandler(&logs, nil)),
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
			require.Contains(t, logs.String(), "never admitted")
			for user, pass := range users {
				req := httptest.NewRequest(http.MethodGet, "/admin/x", nil)
				req.SetBasicAuth(user, pass)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				require.Equal(t, http.StatusUnauthorized, rec.Code)
			}
		})
	}
	require.NoError(t, console.Auth{Users: map[string]string{"ops": "secret"}}.Validate())
}
