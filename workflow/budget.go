package workflow

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// MaxAttemptsLimit is the largest Retrier.MaxAttempts, the States Language's.
const MaxAttemptsLimit = 99999999

// forever is a duration too long to matter: the budgets saturate at it.
const forever = time.Duration(math.MaxInt64)

// addSat returns a+b for non-negative durations, saturating at forever.
func addSat(a, b time.Duration) time.Duration {
	if a >= forever-b {
		return forever
	}
	return a + b
}

// mulSat returns d*n for a non-negative d and n, saturating at forever.
func mulSat(d time.Duration, n int) time.Duration {
	if d == 0 || n == 0 {
		return 0
	}
	if int64(n) > int64(forever/d) {
		return forever
	}
	return d * time.Duration(n)
}

// RetryBudget returns the worst-case time of a Task state: every attempt its
// retriers allow (one plus the retries of every retrier, as different errors may
// follow each other) running to the task's Timeout, plus every retry interval
// (without jitter, which only shortens them). A task without Timeout counts its
// retry intervals only. The sum saturates instead of overflowing, and counting
// stops once it exceeds TimeoutLimit (no definition allows more): a result above
// TimeoutLimit means "more than any execution may take". New refuses a Task whose
// budget, on the longest path through it, exceeds the execution's Timeout.
func (t Task) RetryBudget() time.Duration { return t.retryBudget(TimeoutLimit) }

// retryBudget is RetryBudget, counting only until the budget exceeds limit.
func (t Task) retryBudget(limit time.Duration) time.Duration {
	attempts := 1
	budget := time.Duration(0)
	for _, r := range t.Retry {
		p := r.policy()
		retries := min(p.Retries(), MaxAttemptsLimit)
		attempts += retries
		budget = addSat(budget, mulSat(t.Timeout, retries))
		prev := time.Duration(-1)
		for n := 1; n <= retries && budget <= limit; n++ {
			d := p.BaseDelay(n)
			if d <= 0 {
				break
			}
			if d == prev { // capped (or a rate of 1): every later wait is the same
				budget = addSat(budget, mulSat(d, retries-n+1))
				break
			}
			budget, prev = addSat(budget, d), d
		}
		if budget > limit {
			break
		}
	}
	return addSat(budget, t.Timeout) // the first attempt
}

// budgetPath is the worst-case time of the longest path from a state to an end.
type budgetPath struct {
	time  time.Duration
	path  []string
	cycle bool // the graph below has a cycle: no longest path
}

// pathBudget returns the longest path (in worst-case time) from StartAt through
// Next, Choice and Catch edges: the Tasks on it, each with its RetryBudget. With
// a cycle (a Choice that loops back) there is no such bound; it reports cycle,
// and New checks each Task alone.
func pathBudget(def Definition, edges map[string][]string) budgetPath {
	memo := map[string]budgetPath{}
	onStack := map[string]bool{}
	var walk func(n string) budgetPath
	walk = func(n string) budgetPath {
		if b, ok := memo[n]; ok {
			return b
		}
		if onStack[n] {
			return budgetPath{cycle: true}
		}
		onStack[n] = true
		defer delete(onStack, n)
		var own time.Duration
		if t, ok := def.States[n].(Task); ok {
			own = t.RetryBudget()
		}
		best := budgetPath{}
		next := append([]string(nil), edges[n]...)
		sort.Strings(next)
		for _, m := range next {
			b := walk(m)
			if b.cycle {
				return budgetPath{cycle: true}
			}
			if b.time > best.time || best.path == nil {
				best = b
			}
		}
		out := budgetPath{time: addSat(own, best.time), path: append([]string{n}, best.path...)}
		memo[n] = out
		return out
	}
	return walk(def.StartAt)
}

// checkBudget reports a definition whose retry schedules cannot fit its
// Timeout: in any one Task, or along the longest path (unless the states loop).
func checkBudget(bad func(string, ...any), def Definition, names []string, edges map[string][]string) {
	if def.Timeout <= 0 {
		return
	}
	alone := true
	for _, n := range names {
		if t, ok := def.States[n].(Task); ok {
			if b := t.RetryBudget(); b > def.Timeout {
				bad("task %q: its retry schedule needs up to %v (attempts x Timeout + retry intervals), more than the execution's timeout %v",
					n, fmtBudget(b), def.Timeout)
				alone = false
			}
		}
	}
	if !alone {
		return
	}
	if b := pathBudget(def, edges); !b.cycle && b.time > def.Timeout {
		bad("the path %s needs up to %v (each Task's attempts x Timeout + retry intervals), more than the execution's timeout %v",
			strings.Join(b.path, " -> "), fmtBudget(b.time), def.Timeout)
	}
}

func fmtBudget(d time.Duration) string {
	if d > TimeoutLimit {
		return fmt.Sprintf("more than %v", TimeoutLimit)
	}
	return d.String()
}
