package pgstore_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// planNode is the part of EXPLAIN (FORMAT JSON) the assertions read.
type planNode struct {
	NodeType           string     `json:"Node Type"`
	RelationName       string     `json:"Relation Name"`
	IndexName          string     `json:"Index Name"`
	ActualRows         float64    `json:"Actual Rows"`
	ActualLoops        float64    `json:"Actual Loops"`
	RowsRemovedFilter  float64    `json:"Rows Removed by Filter"`
	RowsRemovedRecheck float64    `json:"Rows Removed by Index Recheck"`
	SharedHit          float64    `json:"Shared Hit Blocks"`
	SharedRead         float64    `json:"Shared Read Blocks"`
	WALBytes           float64    `json:"WAL Bytes"`
	Plans              []planNode `json:"Plans"`
}

// walk calls f on n and every node below it.
func (n planNode) walk(f func(planNode)) {
	f(n)
	for _, c := range n.Plans {
		c.walk(f)
	}
}

// rowsRead is what a scan touched: the rows it returned and the rows it threw away.
func (n planNode) rowsRead() float64 {
	return (n.ActualRows + n.RowsRemovedFilter + n.RowsRemovedRecheck) * max(n.ActualLoops, 1)
}

// explain runs sql under EXPLAIN (ANALYZE, BUFFERS, WAL) in a transaction it rolls back
// (a claim's UPDATE really runs), as a prepared statement with the plan cache mode
// given, so both the custom plan of the first executions and the generic plan
// pgx's statement cache settles on are seen. It logs the text plan and returns the
// JSON one.
func explain(t *testing.T, b *bundle, mode, sql string, args ...any) planNode {
	t.Helper()
	ctx := testCtx(t)
	conn, err := b.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	// PREPARE outlives the transaction: deallocate it before the connection goes back.
	_, err = conn.Exec(ctx, "PREPARE explained AS "+sql)
	require.NoError(t, err)
	defer func() { _, _ = conn.Exec(ctx, "DEALLOCATE explained") }()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = "+mode)
	require.NoError(t, err)
	literals := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		case int:
			literals[i] = fmt.Sprint(v)
		default:
			t.Fatalf("explain: argument %T", a)
		}
	}
	exec := "EXECUTE explained(" + strings.Join(literals, ", ") + ")"

	_, err = tx.Exec(ctx, "SAVEPOINT text_plan")
	require.NoError(t, err)
	rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, WAL, TIMING OFF) "+exec)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	t.Logf("%s plan:\n%s", mode, strings.Join(lines, "\n"))
	_, err = tx.Exec(ctx, "ROLLBACK TO SAVEPOINT text_plan")
	require.NoError(t, err)

	var raw []byte
	require.NoError(t, tx.QueryRow(ctx, "EXPLAIN (ANALYZE, BUFFERS, WAL, TIMING OFF, FORMAT JSON) "+exec).Scan(&raw))
	var out []struct {
		Plan planNode `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Len(t, out, 1)
	return out[0].Plan
}

// TestPlansReadWhatTheyReturn loads 100k rows and checks that a claim, a page of
// dead letters and the stats read index ranges proportional to what they return,
// not the queue: every scan of the envelopes is an index scan on the index made
// for it, and the rows it reads (returned plus filtered out) are bounded.
func TestPlansReadWhatTheyReturn(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := testCtx(t)
	// Queue q: 100k rows stored by one statement, so with one now() (a group
	// commit's rows share it; this is the worst case, one tie). Every 20th is dead
	// (5k, every other one of type "a"), interleaved in ID order with the live ones.
	// Queue other: 20k ready rows that q's queries must not read. Queue small: 1000
	// ready rows and 1000 dead ones.
	_, err := b.pool.Exec(ctx, strings.ReplaceAll(`
		INSERT INTO {{s}}.envelopes (queue, id, type, accepted_at, payload, state, dead_at)
		SELECT 'q', lpad(i::text, 8, '0'), CASE WHEN i % 40 = 0 THEN 'a' ELSE 'b' END, now(), '{}',
			CASE WHEN i % 20 = 0 THEN 2 ELSE 0 END, CASE WHEN i % 20 = 0 THEN now() END
		FROM generate_series(1, 100000) i;
		INSERT INTO {{s}}.envelopes (queue, id, type, accepted_at, payload)
		SELECT 'other', lpad(i::text, 8, '0'), 'b', now(), '{}' FROM generate_series(1, 20000) i;
		INSERT INTO {{s}}.envelopes (queue, id, type, accepted_at, payload, state)
		SELECT 'small', lpad(i::text, 8, '0'), 'b', now(), '{}', i % 2 * 2 FROM generate_series(1, 2000) i;
		ANALYZE {{s}}.envelopes`, "{{s}}", b.schema))
	require.NoError(t, err)
	qs := pgstore.PlanQueries(b.store)

	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		t.Run(mode, func(t *testing.T) {
			// A claim of 64 reads 64 due rows from envelopes_due_id and each by its
			// primary key for the update (a bitmap scan of the key also meets the
			// entries of the versions the explains before this one rolled back:
			// at most 3 x 64).
			p := explain(t, b, mode, qs["claim"], "q", 64, "1 minute")
			requireIndexScans(t, p, map[string]float64{"envelopes_due_id": 64, "envelopes_pkey": 4 * 64})

			// A page of 100 dead letters from the middle of the listing.
			p = explain(t, b, mode, qs["listDead"], "q", "00050000", 100)
			requireIndexScans(t, p, map[string]float64{"envelopes_dead": 100})
			// By type: the planner may read the type's dead letters past the cursor
			// (1250 here) and sort them rather than stop after 100; either way it
			// reads no live row and no other type.
			p = explain(t, b, mode, qs["listDeadType"], "q", "a", "00050000", 100)
			requireIndexScans(t, p, map[string]float64{"envelopes_dead_type": 1250})

			// Stats of a small queue beside the big one read index entries of the
			// small one only (its 2000 rows, some through two indexes: at most
			// twice each), never the table; the oldest ready row comes from the
			// front of envelopes_due_id.
			p = explain(t, b, mode, qs["stats"], "small")
			requireIndexScans(t, p, map[string]float64{anyIndex: 2 * 2000})
			// Of q, whose ready rows are most of the table, counting them is the
			// figure itself: the planner may well scan the table for it. Shown, not
			// asserted.
			explain(t, b, mode, qs["stats"], "q")
		})
	}
}

// anyIndex, as a key of requireIndexScans' bounds, accepts every index and bounds
// the entries read through all of them together.
const anyIndex = "*"

// requireIndexScans checks that every scan of the envelopes in p goes through an
// index (no sequential scan), that the indexes used are those in maxRows, and
// that the entries read through each, over all loops, are at most its bound.
func requireIndexScans(t *testing.T, p planNode, maxRows map[string]float64) {
	t.Helper()
	read := map[string]float64{}
	p.walk(func(n planNode) {
		if n.RelationName == "envelopes" {
			require.Contains(t, []string{"ModifyTable", "Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, n.NodeType,
				"%s on the envelopes: the query reads the table, not an index", n.NodeType)
		}
		if n.IndexName == "" {
			return
		}
		idx := n.IndexName
		if _, ok := maxRows[anyIndex]; ok {
			idx = anyIndex
		}
		_, ok := maxRows[idx]
		require.True(t, ok, "%s of index %s, want one of %v", n.NodeType, n.IndexName, maxRows)
		read[idx] += n.rowsRead()
	})
	require.NotEmpty(t, read, "no index was used")
	for idx, n := range read {
		require.LessOrEqual(t, n, maxRows[idx], "rows read through %s", idx)
	}
	t.Logf("rows read per index %v; buffers %v; WAL bytes %v", read, p.SharedHit+p.SharedRead, p.WALBytes)
}
