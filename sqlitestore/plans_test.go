package sqlitestore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/sqlitestore"
)

// TestQueryPlansUseIndexes fills a store with 100k rows (one group commit's
// worth share an available_at, so ties are many) and checks with EXPLAIN QUERY
// PLAN that a claim, a page of dead letters and the stats search the index made
// for them, never scan the table, and sort nothing.
func TestQueryPlansUseIndexes(t *testing.T) {
	t.Parallel()
	s := fresh(t)
	ctx := context.Background()
	_, err := s.DB().ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
		INSERT INTO envelopes (queue, id, type, accepted_at, payload, state, available_at)
		SELECT 'q', printf('%08d', i), CASE WHEN i % 40 = 0 THEN 'a' ELSE 'b' END, 0, '{}',
			CASE WHEN i % 20 = 0 THEN 2 ELSE 0 END, 1000 + i / 1000 FROM n`)
	require.NoError(t, err)
	_, err = s.DB().ExecContext(ctx, `ANALYZE`)
	require.NoError(t, err)

	for _, tc := range []struct {
		name, index string
		args        []any
	}{
		{"claim", "envelopes_due_id", []any{"q", 5000, 64}},
		{"listDead", "envelopes_dead", []any{"q", "00050000", 100}},
		{"listDeadType", "envelopes_dead_type", []any{"q", "a", "00050000", 100}},
		{"stats", "", []any{"q", 5000}},
	} {
		sql := sqlitestore.PlanQueries()[tc.name]
		rows, err := s.ReadDB().QueryContext(ctx, "EXPLAIN QUERY PLAN "+sql, tc.args...)
		require.NoError(t, err)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		require.NoError(t, rows.Close())
		t.Logf("%s:\n  %s", tc.name, strings.Join(plan, "\n  "))
		for _, step := range plan {
			require.NotContains(t, step, "SCAN envelopes", "%s scans the table", tc.name)
			require.NotContains(t, step, "TEMP B-TREE", "%s sorts", tc.name)
			if strings.Contains(step, "envelopes") {
				if tc.index != "" {
					require.Contains(t, step, fmt.Sprintf("USING INDEX %s ", tc.index), tc.name)
				} else {
					require.NotContains(t, step, "sqlite_autoindex", "%s reads the whole queue's rows", tc.name)
				}
			}
		}
	}
}
