package dlq

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Filter selects entries. Zero fields select everything.
type Filter struct {
	Type   string
	Source string
	// Code matches the last failure's code.
	Code string
	Kind Kind
	// Since and Until bound when the entry was dead-lettered.
	Since, Until time.Time
	// IDs, if set, selects these envelope IDs only.
	IDs []string
}

// Match reports whether e passes the filter.
func (f Filter) Match(e Entry) bool {
	switch {
	case f.Type != "" && e.Envelope.Type != f.Type,
		f.Source != "" && e.Envelope.Source != f.Source,
		f.Code != "" && e.LastFailure().Code != f.Code,
		f.Kind != "" && e.Kind != f.Kind,
		!f.Since.IsZero() && e.DeadAt.Before(f.Since),
		!f.Until.IsZero() && !e.DeadAt.Before(f.Until):
		return false
	}
	if len(f.IDs) > 0 {
		for _, id := range f.IDs {
			if id == e.Envelope.ID {
				return true
			}
		}
		return false
	}
	return true
}

// passBatch is how many entries a pass reads at a time.
const passBatch = 10

// List reads the source once and returns the entries that match, at most limit
// (all when limit is 0). It changes nothing: a Holder (an SQS source) is released
// when List returns, so the messages it read are visible again at once.
func List(ctx context.Context, src Source, f Filter, limit int) (_ []Entry, err error) {
	defer func() {
		if rerr := release(ctx, src); rerr != nil && err == nil {
			err = rerr
		}
	}()
	var out []Entry
	seen := map[string]bool{}
	for limit <= 0 || len(out) < limit {
		es, err := src.Read(ctx, passBatch)
		if err != nil {
			return out, err
		}
		if len(es) == 0 {
			break
		}
		for _, e := range es {
			key := e.MessageID + "\x00" + e.Envelope.ID
			if seen[key] || !f.Match(e) {
				continue
			}
			seen[key] = true
			out = append(out, e)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// Counts summarises dead letters.
type Counts struct {
	Total int `json:"total"`
	// ByError counts by the last failure's code, or its class and the start of its
	// message when it has no code.
	ByError map[string]int `json:"by_error"`
	ByKind  map[Kind]int   `json:"by_kind"`
	ByType  map[string]int `json:"by_type"`
}

// Count summarises entries.
func Count(entries []Entry) Counts {
	c := Counts{ByError: map[string]int{}, ByKind: map[Kind]int{}, ByType: map[string]int{}}
	for _, e := range entries {
		c.Total++
		c.ByError[ErrorKey(e)]++
		c.ByKind[e.Kind]++
		c.ByType[e.Envelope.Type]++
	}
	return c
}

// ErrorKey is how Count groups an entry's last failure.
func ErrorKey(e Entry) string {
	f := e.LastFailure()
	if f.Code != "" {
		return f.Code
	}
	msg := strings.SplitN(f.Error, "\n", 2)[0]
	if len(msg) > 60 {
		msg = msg[:60] + "..."
	}
	return f.Class + ": " + msg
}

// SortedKeys returns m's keys, most frequent first.
func SortedKeys[K comparable](m map[K]int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	return keys
}
