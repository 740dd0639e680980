package problem

import (
	"net/http"
)

// Routes serves mux, giving the answers mux makes itself the problem details
// format: a path no pattern matches (404 Not Found) and a path matched for other
// methods only (405 Method Not Allowed, with its Allow header). instance, if not
// nil, gives each such answer its Instance (e.g. the correlation ID). What the
// registered handlers answer passes unchanged.
func Routes(mux *http.ServeMux, instance func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// mux's own answer: let it choose the status and the headers (Allow),
		// then answer them as a problem.
		c := &capture{header: http.Header{}}
		h.ServeHTTP(c, r)
		if c.status == 0 {
			c.status = http.StatusOK
		}
		if c.status < 400 {
			for k, vs := range c.header {
				w.Header()[k] = vs
			}
			w.WriteHeader(c.status)
			_, _ = w.Write(c.body)
			return
		}
		d := Details{Status: c.status}
		switch c.status {
		case http.StatusNotFound:
			d.Type, d.Detail = TypePrefix+"not-found", "there is nothing at "+r.URL.Path
		case http.StatusMethodNotAllowed:
			d.Type, d.Detail = TypePrefix+"method-not-allowed", r.Method+" is not allowed on "+r.URL.Path+"; use "+c.header.Get("Allow")
			w.Header().Set("Allow", c.header.Get("Allow"))
		}
		if instance != nil {
			d.Instance = instance(r)
		}
		Write(w, d)
	})
}

// capture records an answer without sending it.
type capture struct {
	header http.Header
	status int
	body   []byte
}

func (c *capture) Header() http.Header { return c.header }

func (c *capture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if len(c.body) < 4<<10 {
		c.body = append(c.body, b...)
	}
	return len(b), nil
}
