package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
)

type userKey struct{}

func withUser(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, userKey{}, who)
}

// User returns who RequireAuth (or the console) authenticated for ctx's request.
func User(ctx context.Context) string {
	who, _ := ctx.Value(userKey{}).(string)
	return who
}

// csrfToken is the token of who's forms: an HMAC of the user under the console's
// key, so another site can neither read nor forge it.
func (c *Console) csrfToken(who string) string {
	m := hmac.New(sha256.New, c.csrfKey)
	m.Write([]byte("storagefirst-console-csrf\x00" + who))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) csrfValid(who, token string) bool {
	return token != "" && hmac.Equal([]byte(token), []byte(c.csrfToken(who)))
}
