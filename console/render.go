package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
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
		Flash: r.URL.Query().Get("msg"), Refresh: c.cfg.RefreshSeconds, Data: data}
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

// redirect sends the browser (303) to path under the console, with a message.
func (c *Console) redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values, msg string) {
	if q == nil {
		q = url.Values{}
	}
	if msg != "" {
		q.Set("msg", msg)
	}
	http.Redirect(w, r, fmt.Sprintf("%s%s?%s", c.cfg.Path, path, q.Encode()), http.StatusSeeOther)
}
