package batch

import (
	"context"
	"fmt"
)

// Outcome is what became of one item of an isolated execution: its result, or the
// error that failed it.
type Outcome[R any] struct {
	Value R
	Err   error
}

// Isolate runs exec over items so that one bad item fails only itself. When exec
// fails with an error that isolatable reports as caused by the items themselves (a
// row the database rejects: a data exception, a constraint), Isolate splits the
// items in halves and runs each half again, recursively: an item that fails on
// its own gets that error, and every other item is executed. Any other error (a
// lost connection, a timeout) fails the items of that execution without splitting.
// For k offending items among n, at most 2k·⌈log₂ n⌉+1 executions run, each a
// separate transaction for a store; ctx bounds them all. When ctx ends before an
// offending item is alone, the items still together fail with an error wrapping
// ctx.Err() that isolatable does not blame on them.
func Isolate[T, R any](ctx context.Context, items []T, exec func(context.Context, []T) ([]R, error),
	isolatable func(error) bool) []Outcome[R] {
	out := make([]Outcome[R], len(items))
	if len(items) > 0 {
		isolate(ctx, items, out, exec, isolatable)
	}
	return out
}

func isolate[T, R any](ctx context.Context, items []T, out []Outcome[R], exec func(context.Context, []T) ([]R, error),
	isolatable func(error) bool) {
	res, err := exec(ctx, items)
	if err == nil {
		for i := range out {
			out[i].Value = res[i]
		}
		return
	}
	switch {
	case len(items) == 1 || !isolatable(err):
		// Failed by itself, or not for its items' sake: nothing to split.
	case ctx.Err() != nil:
		// Too late to split: no item of this execution is known to be the
		// rejected one, so none is reported as rejected (a store would fail it
		// for good); they were not executed, for ctx's sake.
		err = fmt.Errorf("batch: %w before the item the execution was rejected for was isolated (%v)", ctx.Err(), err)
	default:
		mid := len(items) / 2
		isolate(ctx, items[:mid], out[:mid], exec, isolatable)
		isolate(ctx, items[mid:], out[mid:], exec, isolatable)
		return
	}
	for i := range out {
		out[i].Err = err
	}
}
