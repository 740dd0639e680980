package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// printHeader states where and under which settings the bench runs: date,
// machine, Postgres version and durability settings.
func printHeader(ctx context.Context, c *benchConfig) {
	host, _ := os.Hostname()
	pgVersion, sc := "?", "?"
	if conn, err := pgx.Connect(ctx, c.url); err == nil {
		_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&pgVersion)
		_ = conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sc)
		_ = conn.Close(ctx)
	}
	now := time.Now().UTC()
	lines := []string{
		fmt.Sprintf("storagefirst bench, %s, machine %s (%s/%s, %d CPUs), Postgres %s", now.Format("2006-01-02 15:04 MST"),
			host, runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), pgVersion),
		fmt.Sprintf("durability: server synchronous_commit=%s; pgstore bookkeeping (claims, acks, Begin) synchronous_commit=off, Put and Complete durable; "+
			"sqlite journal_mode=WAL synchronous=FULL", sc),
		fmt.Sprintf("pool: %d connections for the library and its naive baselines alike; %d consumer workers; %d repetitions, interleaved with the baselines",
			c.pool, benchWorkers, c.reps),
	}
	if c.text {
		for _, l := range lines {
			fmt.Fprintln(c.out, l)
		}
		fmt.Fprintln(c.out)
		return
	}
	b, _ := json.Marshal(header{Header: true, Date: now.Format(time.RFC3339), Host: host, GOOS: runtime.GOOS,
		GOARCH: runtime.GOARCH, CPUs: runtime.NumCPU(), Postgres: pgVersion, SynchronousCo: sc,
		Durability: lines[1], Pool: c.pool, Workers: benchWorkers, Reps: c.reps})
	fmt.Fprintln(c.out, string(b))
}

// header is the first JSON line of a run: when, where, on what, and with which
// durability settings it was measured.
type header struct {
	Header        bool   `json:"header"`
	Date          string `json:"date"`
	Host          string `json:"machine"`
	GOOS          string `json:"goos"`
	GOARCH        string `json:"goarch"`
	CPUs          int    `json:"cpus"`
	Postgres      string `json:"postgres_version"`
	SynchronousCo string `json:"synchronous_commit"`
	Durability    string `json:"durability"`
	Pool          int    `json:"pool"`
	Workers       int    `json:"consumer_workers"`
	Reps          int    `json:"reps"`
}

type summaryKey struct {
	backend, cs, variant string
	conc                 int
}

// printSummary prints a table of medians and spreads per case, variant and
// concurrency, with the ratio to the baseline's median in the same run; with
// -json the rows are JSON lines too (summary true).
func printSummary(c *benchConfig) {
	c.mu.Lock()
	rs := slices.Clone(c.results)
	c.mu.Unlock()
	groups := map[summaryKey][]result{}
	var order []summaryKey
	for _, r := range rs {
		k := summaryKey{r.Backend, r.Case, r.Variant, r.Concurrency}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	med := func(xs []float64) float64 {
		if len(xs) == 0 {
			return 0
		}
		s := slices.Clone(xs)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	pick := func(rs []result, f func(result) float64) []float64 {
		out := make([]float64, len(rs))
		for i, r := range rs {
			out[i] = f(r)
		}
		return out
	}
	if c.text {
		fmt.Fprintf(c.out, "%-8s %-8s %-18s %4s %4s %10s %19s %9s %9s %s\n", "backend", "case", "variant", "conc", "reps",
			"median/s", "min-max/s", "p50 ms", "p99 ms", "vs baseline (median of per-rep ratios) and notes")
	}
	for _, k := range order {
		g := groups[k]
		rates := pick(g, func(r result) float64 { return r.PerSecond })
		lo, hi := slices.Min(rates), slices.Max(rates)
		p50, p99 := med(pick(g, func(r result) float64 { return r.P50Millis })), med(pick(g, func(r result) float64 { return r.P99Millis }))
		var notes []string
		ratio := 0.0
		if base := g[0].Baseline; base != "" {
			bg := groups[summaryKey{k.backend, k.cs, base, k.conc}]
			var rr []float64
			for _, r := range g {
				for _, b := range bg {
					if b.Rep == r.Rep && b.PerSecond > 0 && r.PerSecond > 0 {
						rr = append(rr, r.PerSecond/b.PerSecond)
					}
				}
			}
			if len(rr) > 0 {
				ratio = med(rr)
				notes = append(notes, fmt.Sprintf("%.2fx %s (%.2f-%.2f)", ratio, base, slices.Min(rr), slices.Max(rr)))
			}
		}
		if b := med(pick(g, func(r result) float64 { return r.BatchAvg })); b > 0 {
			notes = append(notes, fmt.Sprintf("batch %.1f", b))
		}
		if w := med(pick(g, func(r result) float64 { return r.WALRatio })); w > 0 {
			notes = append(notes, fmt.Sprintf("WAL %.0f B/envelope, %.2fx a bare row", med(pick(g, func(r result) float64 { return r.WALBytesPer })), w))
		}
		if t := med(pick(g, func(r result) float64 { return r.TargetRate })); t > 0 {
			notes = append(notes, fmt.Sprintf("Puts returned %.0f/s, handled %.0f/s, of %.0f/s offered; latency signed (handler start minus Put return)",
				med(pick(g, func(r result) float64 { return r.AchievedRate })), med(pick(g, func(r result) float64 { return r.HandledRate })), t))
		}
		if c.text {
			rate := fmt.Sprintf("%10.0f %9.0f-%-9.0f", med(rates), lo, hi)
			if k.cs == "wal" {
				rate = fmt.Sprintf("%10s %19s", "-", "-")
			}
			lat := fmt.Sprintf("%9.2f %9.2f", p50, p99)
			if p50 == 0 && p99 == 0 {
				lat = fmt.Sprintf("%9s %9s", "-", "-")
			}
			fmt.Fprintf(c.out, "%-8s %-8s %-18s %4d %4d %s %s %s\n", k.backend, k.cs, k.variant, k.conc, len(g), rate, lat, strings.Join(notes, "; "))
			continue
		}
		fmt.Fprintf(c.out, `{"summary":true,"backend":%q,"case":%q,"variant":%q,"concurrency":%d,"reps":%d,"median_per_second":%.1f,"min_per_second":%.1f,"max_per_second":%.1f,"p50_ms":%.3f,"p99_ms":%.3f,"ratio_to_baseline":%.3f,"notes":%q}`+"\n",
			k.backend, k.cs, k.variant, k.conc, len(g), med(rates), lo, hi, p50, p99, ratio, strings.Join(notes, "; "))
	}
}
