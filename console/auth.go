package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"strings"
)

// Auth says who may use the console (and whatever else RequireAuth guards). A
// request is admitted with "Authorization: Bearer <BearerToken>" or with HTTP
// basic auth matching one of Users. With neither configured nothing is admitted;
// a user with an empty name or password is never admitted (Validate reports it).
type Auth struct {
	// BearerToken, if not empty, admits requests that present it.
	BearerToken string
	// Users, if not empty, maps basic-auth user names to their passwords. Neither
	// may be empty.
	Users map[string]string
	// Realm is the basic-auth realm. Default "storagefirst".
	Realm string
}

// UserBearer is who a request authenticated by the bearer token is, in logs.
const UserBearer = "bearer-token"

// ErrEmptyCredential is reported by Auth.Validate for a basic-auth user with an
// empty name or password, which would admit anyone who knows the user name (or
// sends an empty one).
var ErrEmptyCredential = errors.New("console: a basic-auth user has an empty name or password")

// configured reports whether any credential is set.
func (a Auth) configured() bool { return a.BearerToken != "" || len(a.Users) > 0 }

// Validate reports ErrEmptyCredential when one of Users has an empty name or
// password. New refuses such an Auth; RequireAuth logs it and never admits that
// user.
func (a Auth) Validate() error {
	for user, pass := range a.Users {
		if user == "" || pass == "" {
			return ErrEmptyCredential
		}
	}
	return nil
}

// Authenticate returns who made r, and whether r's credentials are valid.
func (a Auth) Authenticate(r *http.Request) (who string, ok bool) {
	h := r.Header.Get("Authorization")
	if a.BearerToken != "" {
		if tok, found := strings.CutPrefix(h, "Bearer "); found && equal(tok, a.BearerToken) {
			return UserBearer, true
		}
	}
	if len(a.Users) > 0 {
		if user, pass, found := r.BasicAuth(); found && user != "" && pass != "" {
			if want, known := a.Users[user]; known && want != "" && equal(pass, want) {
				return user, true
			}
		}
	}
	return "", false
}

// equal compares in time independent of where the strings differ.
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

func (a Auth) challenge(w http.ResponseWriter) {
	realm := a.Realm
	if realm == "" {
		realm = "storagefirst"
	}
	if len(a.Users) > 0 {
		w.Header().Add("WWW-Authenticate", `Basic realm="`+realm+`", charset="UTF-8"`)
	}
	if a.BearerToken != "" {
		w.Header().Add("WWW-Authenticate", `Bearer realm="`+realm+`"`)
	}
	http.Error(w, "authentication required", http.StatusUnauthorized)
}

// RequireAuth guards next: a request without valid credentials gets 401 (with the
// challenges), and a non-safe request (POST, PUT, DELETE, ...) that a browser
// marks as cross-origin gets 403. Refusals are logged. Use it for admin endpoints
// beside the console (which guards itself). A basic-auth user with an empty name
// or password (see Auth.Validate) is logged as an error and never admitted.
func RequireAuth(auth Auth, logger *slog.Logger, next http.Handler) http.Handler {
	if logger == nil {
		logger = slog.Default()
	}
	if err := auth.Validate(); err != nil {
		logger.Error("console: RequireAuth: that user is never admitted", "error", err)
	}
	cop := http.NewCrossOriginProtection()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, ok := auth.Authenticate(r)
		if !ok {
			logger.WarnContext(r.Context(), "console: unauthenticated request refused", "method", r.Method,
				"path", r.URL.Path, "remote", r.RemoteAddr)
			auth.challenge(w)
			return
		}
		if err := cop.Check(r); err != nil {
			logger.WarnContext(r.Context(), "console: cross-origin request refused", "who", who, "method", r.Method,
				"path", r.URL.Path, "error", err)
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions {
			logger.InfoContext(r.Context(), "console: admin action", "who", who, "method", r.Method, "path", r.URL.Path,
				"query", r.URL.RawQuery)
		}
		next.ServeHTTP(w, r.WithContext(withUser(r.Context(), who)))
	})
}
