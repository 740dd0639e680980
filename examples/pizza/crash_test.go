package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCrashNeverLosesAnAcknowledgedOrder starts the shop as a child process, sends
// creates and cancels from several clients, kills it with SIGKILL at a random
// moment, starts it again on the same SQLite file, and checks that every create
// that got a 202 ends up as exactly one order, and every cancel that got a 200
// left its order cancelled. It repeats a few cycles, then stops the shop with
// Ctrl-C under load: every request gets its answer and the exit status is 0.
func TestCrashNeverLosesAnAcknowledgedOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	bin, db := buildShop(t)

	acknowledged := map[string]string{} // order ID -> username
	cancelled := map[string]bool{}      // order IDs whose cancel answered 200
	var mu sync.Mutex
	// Three crashes: an envelope leased at every one of them comes back a fourth
	// time, still within the create consumer's retry policy (four attempts). A
	// fourth crash that caught it leased again would, rightly, dead-letter it as
	// poison (storagefirst.ConsumerConfig.MaxUnansweredDeliveries: it could be
	// what kills the process); that is not what this test is about, and under
	// load (a slow consumer, short cycles) it happens.
	const cycles = 3
	for cycle := range cycles {
		addr, stop := start(t, bin, db)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					user := fmt.Sprintf("c%d-w%d-%d", cycle, w, i)
					req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/orders", strings.NewReader(`{"username":"`+user+`"}`))
					req.Header.Set("Content-Type", "application/json")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						continue // the server died under this request: not acknowledged
					}
					var acc struct{ ID string }
					_ = json.NewDecoder(resp.Body).Decode(&acc)
					resp.Body.Close()
					if resp.StatusCode == http.StatusAccepted {
						mu.Lock()
						acknowledged[acc.ID] = user
						mu.Unlock()
						if i%3 == 0 && cancelOrder(ctx, http.DefaultClient, addr, acc.ID) == http.StatusOK {
							mu.Lock()
							cancelled[acc.ID] = true
							mu.Unlock()
						}
					}
				}
			}()
		}
		<-time.After(time.Duration(100+rand.IntN(400)) * time.Millisecond) // let it run, then crash
		stop(syscall.SIGKILL)
		cancel()
		wg.Wait()
	}
	require.NotEmpty(t, acknowledged)

	// A last, clean start processes whatever the crashes left queued.
	addr, stop := start(t, bin, db)
	waitDrained(t, addr, func(s queueStats) { require.Zero(t, s.Dead, "nothing fails here") })
	byUser := map[string]int{}
	seen := map[string]string{}
	for _, o := range listOrders(t, addr) {
		byUser[o.Username]++
		seen[o.ID] = o.Status
	}
	for id, user := range acknowledged {
		want := "created"
		if cancelled[id] {
			want = "cancelled"
		}
		if seen[id] == "cancelled" && !cancelled[id] {
			want = "cancelled" // a cancel the crash cut off may still have been done (or recovered)
		}
		require.Equal(t, want, seen[id], "acknowledged order %s (%s) was lost or not in its state (%d orders seen)", id, user, len(seen))
		require.Equal(t, 1, byUser[user], "exactly one order for %s", user)
	}
	require.NotEmpty(t, cancelled)
	t.Logf("%d acknowledged creates and %d cancels over %d crashes; %d orders in all", len(acknowledged), len(cancelled), cycles, len(seen))

	// Ctrl-C under load: every request the shop took is answered in full (202 and
	// 200, no error status), and it exits 0. (A connection still in the kernel's
	// listen backlog when the listener closes is reset before the shop sees it:
	// such a request was never taken, and its client just stops.)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var failed []string
	sent := make(chan struct{}, 64)
	// A new connection per request: a request on a kept-alive connection the
	// server closes as idle fails on the client's side, not the server's.
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				req, _ := http.NewRequest("POST", "http://"+addr+"/orders", strings.NewReader(fmt.Sprintf(`{"username":"stop-%d-%d"}`, w, i)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := fresh.Do(req)
				if err != nil {
					return // the listener closed (see below): no more requests from this client
				}
				var acc struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&acc)
				resp.Body.Close()
				select {
				case sent <- struct{}{}:
				default:
				}
				if resp.StatusCode != http.StatusAccepted {
					mu.Lock()
					failed = append(failed, fmt.Sprintf("create %d", resp.StatusCode))
					mu.Unlock()
					continue
				}
				req, _ = http.NewRequest("POST", "http://"+addr+"/orders/"+acc.ID+"/cancel", nil)
				resp, err = fresh.Do(req)
				switch {
				case err != nil:
					// Refused, or reset in the listen backlog as the listener
					// closed: the request never reached the shop.
					return
				default:
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						mu.Lock()
						failed = append(failed, fmt.Sprintf("cancel %d", resp.StatusCode))
						mu.Unlock()
					}
				}
			}
		}()
	}
	for range 8 {
		<-sent // requests are flowing
	}
	require.NoError(t, stop(os.Interrupt), "Ctrl-C under load exits 0")
	cancel()
	wg.Wait()
	require.Empty(t, failed, "requests answered with errors during the graceful stop")
}

// cancelOrder cancels the order by id; 0 when it got no answer.
func cancelOrder(ctx context.Context, c *http.Client, addr, id string) int {
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/orders/"+id+"/cancel", nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// buildShop builds the shop's binary for the crash tests, and names a SQLite
// file for it.
func buildShop(t *testing.T) (bin, db string) {
	t.Helper()
	bin = filepath.Join(t.TempDir(), "pizza")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin, filepath.Join(t.TempDir(), "pizza.db")
}

// queueStats is a queue's part of GET /admin/stats.
type queueStats struct {
	Ready, Scheduled int64
	InFlight         int64 `json:"in_flight"`
	Dead             int64
}

// waitDrained waits (up to a minute) until the create-order queue holds nothing
// ready, scheduled or in flight; check, if set, sees its stats at every look.
func waitDrained(t *testing.T, addr string, check func(queueStats)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var stats map[string]queueStats
		getJSON(t, "http://"+addr+"/admin/stats", &stats)
		s := stats["create-order"]
		if check != nil {
			check(s)
		}
		if s.Ready+s.Scheduled+s.InFlight == 0 {
			return
		}
		require.True(t, time.Now().Before(deadline), "the queue did not drain: %+v", s)
		<-time.After(50 * time.Millisecond)
	}
}

// listedOrder is an order as GET /orders lists it, in what the crash tests check.
type listedOrder struct{ ID, Username, Status string }

// listOrders reads every order, page by page.
func listOrders(t *testing.T, addr string) []listedOrder {
	t.Helper()
	var all []listedOrder
	after := ""
	for {
		var page struct {
			Orders []listedOrder
			Next   string
		}
		getJSON(t, "http://"+addr+"/orders?limit=100&after="+after, &page)
		all = append(all, page.Orders...)
		if page.Next == "" {
			return all
		}
		after = page.Next
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testAdminToken) // /admin/ needs it
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
}

// testAdminToken is the admin token the tests start the shop with.
const testAdminToken = "crash-test-admin-token"

// start runs the shop on a free port and waits until it listens.
func start(t *testing.T, bin, db string) (string, func(os.Signal) error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "-addr", addr, "-db", db, "-admin-token", testAdminToken)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	logf, err := os.CreateTemp(t.TempDir(), "pizza-*.log")
	require.NoError(t, err)
	cmd.Stderr = logf
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("shop log %s:\n%s", logf.Name(), tail(string(b), 3000))
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "the shop did not start")
	require.Contains(t, line, "listening on")
	var once sync.Once
	var exit error
	stop := func(sig os.Signal) error {
		once.Do(func() {
			_ = cmd.Process.Signal(sig)
			exit = cmd.Wait()
		})
		return exit
	}
	t.Cleanup(func() { stop(syscall.SIGKILL) })
	return addr, stop
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
