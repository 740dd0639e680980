package console

import (
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/workflow"
)

// Defaults and limits of Config.
const (
	// PathDefault is where the console is mounted when Config.Path is empty.
	PathDefault = "/console"
	// PageSizeDefault is the rows per page; PageSizeLimit the most a page may ask.
	PageSizeDefault = 25
	PageSizeLimit   = 200
	// ScanLimitDefault bounds the dead letters one page reads while filtering.
	ScanLimitDefault = 2000
	// BulkLimitDefault bounds the dead letters one bulk action (replay or purge of
	// all that match) touches.
	BulkLimitDefault = 1000
	// RefreshSecondsDefault is how often the overview's figures refresh (with
	// JavaScript).
	RefreshSecondsDefault = 5
)

// Queue is one queue the console shows. Stats and Dead are each optional.
type Queue struct {
	Name  string
	Stats storagefirst.StatsReporter
	Dead  storagefirst.DeadLetters
}

// ExecutionLister is workflow.ExecutionLister: when Config.Workflows has it, the
// console lists executions; otherwise it looks them up by ID.
type ExecutionLister = workflow.ExecutionLister

// Config configures a Console. Auth is required (with at least one credential);
// every other zero field means its documented default.
type Config struct {
	// Auth says who may use the console.
	Auth Auth
	// Queues are the queues shown, in this order.
	Queues []Queue
	// Workflows, if set, lets the console show executions and their history.
	Workflows workflow.Store
	// Path is where the console is mounted, e.g. "/console" (mount the handler at
	// Path+"/"). Default PathDefault.
	Path string
	// Title heads every page. Default "storagefirst console".
	Title string
	// PageSize: see PageSizeDefault.
	PageSize int
	// ScanLimit: see ScanLimitDefault.
	ScanLimit int
	// BulkLimit: see BulkLimitDefault.
	BulkLimit int
	// RefreshSeconds: see RefreshSecondsDefault.
	RefreshSeconds int
	// CSRFKey signs the forms' CSRF tokens; set the same key on every instance
	// behind a load balancer. Default: random per Console.
	CSRFKey []byte
	// Logger logs every action with who did it, and refusals. Default
	// slog.Default().
	Logger *slog.Logger
}

// Console is the operator console, an http.Handler. It is safe for concurrent use.
type Console struct {
	cfg     Config
	csrfKey []byte
	queues  map[string]Queue
	tmpl    *template.Template
	mux     *http.ServeMux
	handler http.Handler
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New validates cfg, reporting every problem, and returns a Console.
func New(cfg Config) (*Console, error) {
	var errs []error
	if !cfg.Auth.configured() {
		errs = append(errs, errors.New("console: Config.Auth needs a BearerToken or Users"))
	}
	if err := cfg.Auth.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("console: Config.Auth: %w", err))
	}
	if cfg.Path == "" {
		cfg.Path = PathDefault
	}
	cfg.Path = "/" + strings.Trim(cfg.Path, "/")
	if cfg.Path == "/" {
		cfg.Path = ""
	}
	queues := map[string]Queue{}
	for _, q := range cfg.Queues {
		if q.Name == "" {
			errs = append(errs, errors.New("console: a Queue has no Name"))
		} else if _, dup := queues[q.Name]; dup {
			errs = append(errs, fmt.Errorf("console: queue %q is given twice", q.Name))
		}
		queues[q.Name] = q
	}
	for _, f := range [...]struct {
		name string
		v    int
	}{{"PageSize", cfg.PageSize}, {"ScanLimit", cfg.ScanLimit}, {"BulkLimit", cfg.BulkLimit}, {"RefreshSeconds", cfg.RefreshSeconds}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("console: Config.%s is negative", f.name))
		}
	}
	if cfg.PageSize > PageSizeLimit {
		errs = append(errs, fmt.Errorf("console: Config.PageSize is above %d", PageSizeLimit))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if cfg.Title == "" {
		cfg.Title = "storagefirst console"
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = PageSizeDefault
	}
	if cfg.ScanLimit == 0 {
		cfg.ScanLimit = ScanLimitDefault
	}
	if cfg.BulkLimit == 0 {
		cfg.BulkLimit = BulkLimitDefault
	}
	if cfg.RefreshSeconds == 0 {
		cfg.RefreshSeconds = RefreshSecondsDefault
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Console{cfg: cfg, queues: queues, csrfKey: cfg.CSRFKey, mux: http.NewServeMux()}
	if len(c.csrfKey) == 0 {
		c.csrfKey = make([]byte, 32)
		_, _ = rand.Read(c.csrfKey) // crypto/rand.Read never fails
	}
	var err error
	c.tmpl, err = template.New("").Funcs(funcs(cfg.Path)).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	static, _ := fs.Sub(staticFS, "static")
	p := cfg.Path
	c.mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", staticFiles(static)))
	c.mux.HandleFunc("GET "+p+"/{$}", c.overview)
	c.mux.HandleFunc("GET "+p+"/queues", c.queuesFragment)
	c.mux.HandleFunc("GET "+p+"/dead", c.deadList)
	c.mux.HandleFunc("GET "+p+"/dead/{id}", c.deadShow)
	c.mux.HandleFunc("POST "+p+"/dead/replay", c.action(c.replaySelected))
	c.mux.HandleFunc("POST "+p+"/dead/purge", c.action(c.purgeSelected))
	c.mux.HandleFunc("POST "+p+"/dead/replay-matching", c.action(c.replayMatching))
	c.mux.HandleFunc("POST "+p+"/dead/purge-matching", c.action(c.purgeMatching))
	c.mux.HandleFunc("GET "+p+"/workflows", c.workflows)
	c.mux.HandleFunc("GET "+p+"/workflows/{id}", c.workflowShow)
	c.handler = RequireAuth(cfg.Auth, cfg.Logger, c.mux)
	return c, nil
}

// ServeHTTP serves the console (authenticated; see Auth).
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) { c.handler.ServeHTTP(w, r) }

// action wraps a POST handler: the CSRF token must match the user's.
func (c *Console) action(fn func(w http.ResponseWriter, r *http.Request, who string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who := User(r.Context())
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		if err := r.ParseForm(); err != nil {
			http.Error(w, "bad form", http.StatusBadRequest)
			return
		}
		if !c.csrfValid(who, r.PostForm.Get("csrf")) {
			c.cfg.Logger.WarnContext(r.Context(), "console: action refused: bad CSRF token", "who", who, "path", r.URL.Path)
			http.Error(w, "the form's CSRF token is missing or wrong: reload the page and try again", http.StatusForbidden)
			return
		}
		fn(w, r, who)
	}
}
