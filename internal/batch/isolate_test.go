package batch_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/batch"
)

var errBadRow = errors.New("bad row")

// rowsExec fails a whole execution when any item is in bad (as a database rejects a
// multi-row insert for one row), and with down for anything once down is set.
func rowsExec(bad map[int]bool, execs *int) func(context.Context, []int) ([]string, error) {
	return func(_ context.Context, items []int) ([]string, error) {
		*execs++
		out := make([]string, len(items))
		for i, v := range items {
			if bad[v] {
				return nil, fmt.Errorf("item %d: %w", v, errBadRow)
			}
			out[i] = fmt.Sprint(v)
		}
		return out, nil
	}
}

func isBadRow(err error) bool { return errors.Is(err, errBadRow) }

func TestIsolateFailsOnlyTheOffendingItems(t *testing.T) {
	t.Parallel()
	items := make([]int, 100)
	for i := range items {
		items[i] = i
	}
	bad := map[int]bool{7: true, 63: true}
	execs := 0
	out := batch.Isolate(t.Context(), items, rowsExec(bad, &execs), isBadRow)
	require.Len(t, out, 100)
	for i, o := range out {
		if bad[i] {
			require.ErrorIs(t, o.Err, errBadRow, "item %d", i)
			continue
		}
		require.NoError(t, o.Err, "item %d", i)
		require.Equal(t, fmt.Sprint(i), o.Value)
	}
	require.LessOrEqual(t, execs, 2*2*7+1, "bisection, not one by one")
}

func TestIsolateDoesNotSplitOtherErrors(t *testing.T) {
	t.Parallel()
	down := errors.New("connection lost")
	execs := 0
	out := batch.Isolate(t.Context(), []int{1, 2, 3, 4}, func(context.Context, []int) ([]int, error) {
		execs++
		return nil, down
	}, isBadRow)
	require.Equal(t, 1, execs)
	for _, o := range out {
		require.ErrorIs(t, o.Err, down)
	}
}

// A batch rejected for one row when ctx has ended cannot be split any more: its
// items must not be reported as rejected themselves (a store would fail them for
// good as invalid), only as not executed, with ctx's error.
func TestIsolateAfterCtxEndsBlamesNoItem(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	execs := 0
	run := rowsExec(map[int]bool{3: true}, &execs)
	out := batch.Isolate(ctx, []int{1, 2, 3, 4}, func(ctx context.Context, items []int) ([]string, error) {
		cancel() // the deadline ends while the rejected batch runs
		return run(ctx, items)
	}, isBadRow)
	require.Equal(t, 1, execs)
	for i, o := range out {
		require.ErrorIs(t, o.Err, context.Canceled, "item %d", i)
		require.False(t, isBadRow(o.Err), "item %d is blamed for a row it may not hold", i)
	}
}
