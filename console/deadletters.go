package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// scanBatch is how many dead letters one ListDead call reads.
const scanBatch = 100

// filterForm is a dead-letter filter as the forms and links carry it.
type filterForm struct {
	Queue, Type, Code, Kind, Since, Until string
}

func readFilter(v url.Values) filterForm {
	return filterForm{Queue: v.Get("queue"), Type: v.Get("type"), Code: v.Get("code"), Kind: v.Get("kind"),
		Since: v.Get("since"), Until: v.Get("until")}
}

// Values encodes the filter's non-empty fields.
func (f filterForm) Values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"queue": f.Queue, "type": f.Type, "code": f.Code, "kind": f.Kind,
		"since": f.Since, "until": f.Until} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// Query is Values encoded for a link.
func (f filterForm) Query() template.URL { return template.URL(f.Values().Encode()) }

// Active reports whether anything but the queue is set.
func (f filterForm) Active() bool {
	return f.Type != "" || f.Code != "" || f.Kind != "" || f.Since != "" || f.Until != ""
}

// parseTime reads a datetime-local value (taken as UTC) or RFC 3339.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2006-01-02T15:04 UTC, or RFC 3339)", s)
}

func (f filterForm) filter() (dlq.Filter, error) {
	since, err1 := parseTime(f.Since)
	until, err2 := parseTime(f.Until)
	if err := errors.Join(err1, err2); err != nil {
		return dlq.Filter{}, err
	}
	return dlq.Filter{Type: f.Type, Code: f.Code, Kind: dlq.Kind(f.Kind), Since: since, Until: until}, nil
}

// queue returns the queue named, which must keep dead letters.
func (c *Console) deadQueue(name string) (Queue, error) {
	q, ok := c.queues[name]
	if !ok && name == "" {
		for _, cand := range c.cfg.Queues {
			if cand.Dead != nil {
				return cand, nil
			}
		}
	}
	if !ok || q.Dead == nil {
		return Queue{}, fmt.Errorf("there is no queue %q with dead letters", name)
	}
	return q, nil
}

func entry(d storagefirst.DeadLetter) dlq.Entry {
	return dlq.Entry{Kind: dlq.KindStoragefirst, Envelope: d.Envelope, Failures: d.Failures, DeadAt: d.DeadAt,
		Handle: d.Envelope.ID}
}

// scanResult is one bounded pass over a queue's dead letters.
type scanResult struct {
	Entries []dlq.Entry
	// Before holds, for each entry, the ID listed just before it (the cursor that
	// reads it back first).
	Before []string
	// Next is the cursor to continue after, empty at the end.
	Next string
	// Scanned counts the dead letters read; Truncated says the scan limit stopped it
	// before the page was full.
	Scanned   int
	Truncated bool
}

// scan reads q's dead letters after the cursor, in ID order, keeping those that
// match f, until it has limit of them, reaches the end, or has read scanLimit.
func scan(ctx context.Context, q Queue, f dlq.Filter, after string, limit, scanLimit int) (scanResult, error) {
	var res scanResult
	cursor := after
	for res.Scanned < scanLimit {
		n := min(scanBatch, scanLimit-res.Scanned)
		dls, err := q.Dead.ListDead(ctx, storagefirst.DeadLetterFilter{AfterID: cursor, Limit: n, Type: f.Type})
		if err != nil {
			return res, err
		}
		for _, d := range dls {
			before := cursor
			cursor = d.Envelope.ID
			res.Scanned++
			if e := entry(d); f.Match(e) {
				res.Entries = append(res.Entries, e)
				res.Before = append(res.Before, before)
				if len(res.Entries) == limit {
					res.Next = cursor
					return res, nil
				}
			}
		}
		if len(dls) < n {
			return res, nil
		}
	}
	res.Next, res.Truncated = cursor, true
	return res, nil
}

type deadListData struct {
	Queues    []string
	Filter    filterForm
	FilterErr string
	After     string
	Result    scanResult
	Kinds     []dlq.Kind
	Limit     int
}

func (c *Console) deadQueueNames() []string {
	var names []string
	for _, q := range c.cfg.Queues {
		if q.Dead != nil {
			names = append(names, q.Name)
		}
	}
	return names
}

func (c *Console) pageSize(v url.Values) int {
	if n, err := strconv.Atoi(v.Get("limit")); err == nil && n > 0 {
		return min(n, PageSizeLimit)
	}
	return c.cfg.PageSize
}

func (c *Console) deadList(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	ff := readFilter(v)
	q, err := c.deadQueue(ff.Queue)
	if err != nil {
		c.fail(w, r, http.StatusNotFound, err)
		return
	}
	ff.Queue = q.Name
	data := deadListData{Queues: c.deadQueueNames(), Filter: ff, After: v.Get("after"), Limit: c.pageSize(v),
		Kinds: []dlq.Kind{dlq.KindStoragefirst, dlq.KindLambdaDestination, dlq.KindEventBridgeTarget,
			dlq.KindStepFunctionsCatch, dlq.KindSQSRedrive, dlq.KindUnknown}}
	f, err := ff.filter()
	status := http.StatusOK
	if err != nil {
		data.FilterErr, status = err.Error(), http.StatusBadRequest
	} else if data.Result, err = scan(r.Context(), q, f, data.After, data.Limit, c.cfg.ScanLimit); err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, fmt.Errorf("reading the dead letters: %w", err))
		return
	}
	c.render(w, r, status, "dead-list", "Dead letters: "+q.Name, data)
}

type deadShowData struct {
	Queue string
	Entry dlq.Entry
}

func (c *Console) deadShow(w http.ResponseWriter, r *http.Request) {
	q, err := c.deadQueue(r.URL.Query().Get("queue"))
	if err != nil {
		c.fail(w, r, http.StatusNotFound, err)
		return
	}
	id := r.PathValue("id")
	e, err := findDead(r.Context(), q, id, r.URL.Query().Get("before"), c.cfg.ScanLimit)
	switch {
	case errors.Is(err, storagefirst.ErrNotFound):
		c.fail(w, r, http.StatusNotFound, fmt.Errorf("dead letter %s is not in %s (replayed or purged?)", id, q.Name))
	case err != nil:
		c.fail(w, r, http.StatusServiceUnavailable, err)
	default:
		c.render(w, r, http.StatusOK, "dead-show", "Dead letter "+id, deadShowData{Queue: q.Name, Entry: e})
	}
}

// findDead reads one dead letter. before, the ID listed just before it (the
// list's links carry it), finds it in one read; without it, or when it moved, a
// scan of at most scanLimit dead letters does.
func findDead(ctx context.Context, q Queue, id, before string, scanLimit int) (dlq.Entry, error) {
	if id == "" {
		return dlq.Entry{}, storagefirst.ErrNotFound
	}
	if before != "" && before < id {
		dls, err := q.Dead.ListDead(ctx, storagefirst.DeadLetterFilter{AfterID: before, Limit: 1})
		if err != nil {
			return dlq.Entry{}, err
		}
		if len(dls) == 1 && dls[0].Envelope.ID == id {
			return entry(dls[0]), nil
		}
	}
	res, err := scan(ctx, q, dlq.Filter{IDs: []string{id}}, "", 1, scanLimit)
	if err != nil {
		return dlq.Entry{}, err
	}
	if len(res.Entries) == 0 {
		return dlq.Entry{}, storagefirst.ErrNotFound
	}
	return res.Entries[0], nil
}

// ids reads the selected IDs, at most BulkLimit.
func (c *Console) ids(r *http.Request) ([]string, error) {
	ids := r.PostForm["id"]
	if len(ids) == 0 {
		return nil, errors.New("select at least one dead letter")
	}
	if len(ids) > c.cfg.BulkLimit {
		return nil, fmt.Errorf("at most %d dead letters at once", c.cfg.BulkLimit)
	}
	return ids, nil
}

type outcome struct {
	Done, Missing, Failed int
	Errors                []string
}

func (o *outcome) add(id string, err error) {
	switch {
	case err == nil:
		o.Done++
	case errors.Is(err, storagefirst.ErrNotFound):
		o.Missing++
	default:
		o.Failed++
		if len(o.Errors) < 5 {
			o.Errors = append(o.Errors, id+": "+err.Error())
		}
	}
}

// values are the outcome as the query of the redirect after an action: the
// action's message code (one of flashVerbs) and the counts, never free text, so
// that a link cannot make the console say anything else.
func (o outcome) values(code string, q url.Values) {
	q.Set("msg", code)
	q.Set("done", strconv.Itoa(o.Done))
	if o.Missing > 0 {
		q.Set("gone", strconv.Itoa(o.Missing))
	}
	if o.Failed > 0 {
		q.Set("failed", strconv.Itoa(o.Failed))
	}
}

// replaySelected puts the selected dead letters back in their queue.
func (c *Console) replaySelected(w http.ResponseWriter, r *http.Request, who string) {
	c.apply(w, r, who, "replay", flashReplayed, func(ctx context.Context, q Queue, id string) error {
		return q.Dead.Requeue(ctx, id)
	})
}

type confirmData struct {
	Action  string
	Queue   string
	IDs     []string
	Filter  filterForm
	Scanned int
	Partial bool
	Verb    string
}

// purgeSelected deletes the selected dead letters, after a confirmation.
func (c *Console) purgeSelected(w http.ResponseWriter, r *http.Request, who string) {
	if r.PostForm.Get("confirm") != "yes" {
		q, ids, ok := c.selection(w, r)
		if !ok {
			return
		}
		c.render(w, r, http.StatusOK, "confirm", "Purge dead letters?", confirmData{Action: "purge", Verb: "Purge",
			Queue: q.Name, IDs: ids, Filter: readFilter(r.PostForm)})
		return
	}
	c.apply(w, r, who, "purge", flashPurged, func(ctx context.Context, q Queue, id string) error {
		return q.Dead.DeleteDead(ctx, id)
	})
}

// selection reads the dead-letter queue and the IDs a form selected; when either
// is bad it answers the request itself (404 for the queue, 400 for the IDs) and
// returns false.
func (c *Console) selection(w http.ResponseWriter, r *http.Request) (Queue, []string, bool) {
	q, err := c.deadQueue(r.PostForm.Get("queue"))
	if err != nil {
		c.fail(w, r, http.StatusNotFound, err)
		return Queue{}, nil, false
	}
	ids, err := c.ids(r)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err)
		return Queue{}, nil, false
	}
	return q, ids, true
}

func (c *Console) apply(w http.ResponseWriter, r *http.Request, who, action, code string, fn func(context.Context, Queue, string) error) {
	q, ids, ok := c.selection(w, r)
	if !ok {
		return
	}
	var o outcome
	for _, id := range ids {
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		o.add(id, fn(ctx, q, id))
		cancel()
	}
	level := c.cfg.Logger.InfoContext
	if o.Failed > 0 {
		level = c.cfg.Logger.WarnContext
	}
	level(r.Context(), "console: "+action, "who", who, "queue", q.Name, "requested", len(ids), "done", o.Done,
		"missing", o.Missing, "failed", o.Failed, "ids", ids, "errors", o.Errors)
	ff := readFilter(r.PostForm)
	ff.Queue = q.Name
	v := ff.Values()
	o.values(code, v)
	c.redirect(w, r, "/dead", v)
}

// matching collects the IDs of the dead letters that match the posted filter, for
// a bulk action's dry run: at most BulkLimit, reading at most ScanLimit.
func (c *Console) matching(w http.ResponseWriter, r *http.Request, action, verb string) {
	ff := readFilter(r.PostForm)
	q, err := c.deadQueue(ff.Queue)
	if err != nil {
		c.fail(w, r, http.StatusNotFound, err)
		return
	}
	ff.Queue = q.Name
	f, err := ff.filter()
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err)
		return
	}
	res, err := scan(r.Context(), q, f, "", c.cfg.BulkLimit, c.cfg.ScanLimit)
	if err != nil {
		c.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	ids := make([]string, len(res.Entries))
	for i, e := range res.Entries {
		ids[i] = e.Envelope.ID
	}
	c.cfg.Logger.InfoContext(r.Context(), "console: dry run", "who", User(r.Context()), "action", action, "queue", q.Name,
		"matching", len(ids), "scanned", res.Scanned)
	c.render(w, r, http.StatusOK, "confirm", verb+" all matching: dry run", confirmData{Action: action, Verb: verb,
		Queue: q.Name, IDs: ids, Filter: ff, Scanned: res.Scanned, Partial: res.Next != ""})
}

func (c *Console) replayMatching(w http.ResponseWriter, r *http.Request, _ string) {
	c.matching(w, r, "replay", "Replay")
}

func (c *Console) purgeMatching(w http.ResponseWriter, r *http.Request, _ string) {
	c.matching(w, r, "purge", "Purge")
}
