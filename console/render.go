package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// page is what every template gets.
type page struct {
	Title   string
	Base    string
	User    string
	CSRF    string
	Heading string
	Flash   string
	Refresh int
	Data    any
}

func funcs(base string) template.FuncMap {
	return template.FuncMap{
		"age": func(d time.Duration) string {
			if d <= 0 {
				return "–"
			}
			return d.Round(time.Second).String()
		},
		"ts": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"pretty": func(b []byte) string {
			if len(b) == 0 {
				return ""
			}
			var out bytes.Buffer
			if json.Indent(&out, b, "", "  ") != nil {
				return string(b)
			}
			return out.String()
		},
		"query": func(kv ...string) template.URL {
			v := url.Values{}
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i+1] != "" {
					v.Set(kv[i], kv[i+1])
				}
			}
			return template.URL(v.Encode())
		},
		"pathEscape": url.PathEscape,
	}
}

// render writes the named template with the page around data.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name, heading string, data any) {
	who := User(r.Context())
	p := page{Title: c.cfg.Title, Base: c.cfg.Path, User: who, CSRF: c.csrfToken(who), Heading: heading,
		Flash: flash(r.URL.Query()), Refresh: c.cfg.RefreshSeconds, Data: data}
	var buf bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&buf, name, p); err != nil {
		c.cfg.Logger.ErrorContext(r.Context(), "console: rendering", "template", name, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail renders an error page.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, err error) {
	if status >= 500 {
		c.cfg.Logger.ErrorContext(r.Context(), "console: request failed", "path", r.URL.Path, "error", err)
	}
	c.render(w, r, status, "error", http.StatusText(status), err.Error())
}

// redirect sends the browser (303) to path under the console, with the query q
// (which may carry a flash message code, see flash).
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	http.Redirect(w, r, fmt.Sprintf("%s%s?%s", c.cfg.Path, path, q.Encode()), http.StatusSeeOther)
}

// Flash message codes, the only messages a page shows from its query ("msg").
const (
	flashReplayed = "replayed"
	flashPurged   = "purged"
)

var flashVerbs = map[string]string{flashReplayed: "Replayed", flashPurged: "Purged"}

// flash is the page's message from the query of the redirect after an action: a
// known code and counts ("done", "gone", "failed"); anything else shows nothing,
// so a crafted link cannot put words in the console's mouth.
func flash(q url.Values) string {
	verb, ok := flashVerbs[q.Get("msg")]
	if !ok {
		return ""
	}
	count := func(name string) int {
		n, err := strconv.Atoi(q.Get(name))
		if err != nil || n < 0 {
			return 0
		}
		return n
	}
	msg := fmt.Sprintf("%s %d", verb, count("done"))
	if n := count("gone"); n > 0 {
		msg += fmt.Sprintf("; %d already gone", n)
	}
	if n := count("failed"); n > 0 {
		msg += fmt.Sprintf("; %d failed (see the log)", n)
	}
	return msg + "."
}
