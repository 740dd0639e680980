package workflow

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"
)

// MaxHistory bounds the events kept per execution: the first ones and the last.
const MaxHistory = 200

// Event is one step of an execution's history.
type Event struct {
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	State   string    `json:"state,omitempty"`
	Attempt int       `json:"attempt,omitempty"`
	Error   string    `json:"error,omitempty"`
	Cause   string    `json:"cause,omitempty"`
}

// Execution is the persisted state of one run.
type Execution struct {
	ID string `json:"id"`
	// Name is the execution name it was started under (WithExecutionName), if any.
	Name     string          `json:"name,omitempty"`
	Workflow string          `json:"workflow"`
	Status   Status          `json:"status"`
	Input    json.RawMessage `json:"input"`
	Output   json.RawMessage `json:"output,omitempty"`
	Error    string          `json:"error,omitempty"`
	Cause    string          `json:"cause,omitempty"`
	// State is the state to run next (or that was running), and StateInput its
	// input: the output of the last completed state.
	State      string          `json:"state,omitempty"`
	StateInput json.RawMessage `json:"state_input,omitempty"`
	// Retries counts, for State, the retries made per Retry entry.
	Retries   []int     `json:"retries,omitempty"`
	History   []Event   `json:"history,omitempty"`
	StartedAt time.Time `json:"started_at"`
	StoppedAt time.Time `json:"stopped_at,omitzero"`
	Deadline  time.Time `json:"deadline"`
	// Pending is the status (TIMED_OUT or FAILED) a RUNNING execution is to end in
	// once its dead letter is durable: Sweep sends the dead letter, then ends it.
	Pending Status `json:"pending,omitempty"`
	// Version increases with every update; Update is conditional on it.
	Version int64 `json:"version"`
}

func (e *Execution) record(ev Event) {
	e.History = append(e.History, ev)
	if n := len(e.History); n > MaxHistory {
		e.History = append(e.History[:10], e.History[n-(MaxHistory-10):]...)
	}
}

// Store keeps executions.
//
// Create stores a new execution durably (Version 1), or fails with ErrExists when
// its ID is stored already. Update stores exec if the stored Version is
// exec.Version-1, else fails with ErrConflict: whoever updates must hold the
// latest version, so an engine and a sweeper never both drive an execution. Get
// returns an execution or ErrNotFound. Interrupted returns RUNNING executions
// whose deadline is before the given time, oldest first. Prune deletes up to
// limit finished (not RUNNING) executions that stopped before the given time and
// returns how many it deleted.
type Store interface {
	Create(ctx context.Context, exec Execution) error
	Update(ctx context.Context, exec Execution) error
	Get(ctx context.Context, id string) (Execution, error)
	Interrupted(ctx context.Context, before time.Time, limit int) ([]Execution, error)
	Prune(ctx context.Context, before time.Time, limit int) (int, error)
}

// MemoryStore is an in-memory Store for tests and single-process use.
type MemoryStore struct {
	mu    sync.Mutex
	execs map[string]Execution
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{execs: map[string]Execution{}} }

func clone(e Execution) Execution {
	e.Input, e.Output, e.StateInput = slices.Clone(e.Input), slices.Clone(e.Output), slices.Clone(e.StateInput)
	e.Retries, e.History = slices.Clone(e.Retries), slices.Clone(e.History)
	return e
}

// Create stores exec.
func (m *MemoryStore) Create(ctx context.Context, exec Execution) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.execs[exec.ID]; ok {
		return fmt.Errorf("%w: %s", ErrExists, exec.ID)
	}
	m.execs[exec.ID] = clone(exec)
	return nil
}

// Update stores exec if it is the next version.
func (m *MemoryStore) Update(ctx context.Context, exec Execution) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur, ok := m.execs[exec.ID]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, exec.ID)
	}
	if cur.Version != exec.Version-1 {
		return fmt.Errorf("%w: %s is at version %d, not %d", ErrConflict, exec.ID, cur.Version, exec.Version-1)
	}
	m.execs[exec.ID] = clone(exec)
	return nil
}

// Get returns the execution.
func (m *MemoryStore) Get(ctx context.Context, id string) (Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.execs[id]
	if !ok {
		return Execution{}, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return clone(e), nil
}

// Interrupted returns running executions past their deadline.
func (m *MemoryStore) Interrupted(ctx context.Context, before time.Time, limit int) ([]Execution, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Execution
	for _, e := range m.execs {
		if e.Status == StatusRunning && e.Deadline.Before(before) {
			out = append(out, clone(e))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartedAt.Before(out[j].StartedAt) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Prune deletes finished executions that stopped before the given time.
func (m *MemoryStore) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var old []Execution
	stopped := func(e Execution) time.Time { // as the SQL stores: the start for want of a stop
		if e.StoppedAt.IsZero() {
			return e.StartedAt
		}
		return e.StoppedAt
	}
	for _, e := range m.execs {
		if e.Status != StatusRunning && stopped(e).Before(before) {
			old = append(old, e)
		}
	}
	sort.Slice(old, func(i, j int) bool { return stopped(old[i]).Before(stopped(old[j])) })
	if limit > 0 && len(old) > limit {
		old = old[:limit]
	}
	for _, e := range old {
		delete(m.execs, e.ID)
	}
	return len(old), nil
}
