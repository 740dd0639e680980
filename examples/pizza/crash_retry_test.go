package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCrashRetryWithTheSameKeyMakesOneOrder kills the shop with SIGKILL under
// clients that send every create with an Idempotency-Key, starts it again, and lets
// each client that got no answer retry with the same key and body, as a client
// should. Every key ends up as exactly one order, named by every 202 given for it.
func TestCrashRetryWithTheSameKeyMakesOneOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: not in -short")
	}
	bin, db := buildShop(t)

	var mu sync.Mutex
	answered := map[string]string{} // key (= username) -> order ID of its 202
	unanswered := map[string]bool{} // keys whose create died with the shop
	post := func(ctx context.Context, addr, key string) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/orders", strings.NewReader(`{"username":"`+key+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		var acc struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&acc)
		return resp.StatusCode, acc.ID, nil
	}
	const cycles = 3
	for cycle := range cycles {
		addr, stop := start(t, bin, db)

		// Retry what the last crash left unanswered: same key, same body.
		mu.Lock()
		pending := make([]string, 0, len(unanswered))
		for k := range unanswered {
			pending = append(pending, k)
		}
		mu.Unlock()
		for _, key := range pending {
			code, id, err := post(context.Background(), addr, key)
			require.NoError(t, err)
			require.Equal(t, http.StatusAccepted, code, "retry of %s", key)
			mu.Lock()
			if prev, ok := answered[key]; ok {
				require.Equal(t, prev, id, "two answers for %s name two orders", key)
			}
			answered[key] = id
			delete(unanswered, key)
			mu.Unlock()
		}

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					key := fmt.Sprintf("k%d-w%d-%d", cycle, w, i)
					code, id, err := post(ctx, addr, key)
					mu.Lock()
					switch {
					case err != nil:
						unanswered[key] = true // the shop died under it: retry after the restart
					case code == http.StatusAccepted:
						answered[key] = id
					default:
						unanswered[key] = true // a 503: retry too
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			}()
		}
		<-time.After(time.Duration(150+rand.IntN(300)) * time.Millisecond) // let it run, then crash
		stop(syscall.SIGKILL)
		cancel()
		wg.Wait()
	}

	// A last start: retry what is left, drain the queue, then count.
	a, st := start(t, bin, db)
	defer st(syscall.SIGTERM)
	for key := range unanswered {
		code, id, err := post(context.Background(), a, key)
		require.NoError(t, err)
		require.Equal(t, http.StatusAccepted, code)
		answered[key] = id
	}
	waitDrained(t, a, nil)
	byUser := map[string][]string{}
	status := map[string]string{}
	for _, o := range listOrders(t, a) {
		byUser[o.Username] = append(byUser[o.Username], o.ID)
		status[o.ID] = o.Status
	}
	twice := 0
	for key, id := range answered {
		if len(byUser[key]) != 1 {
			twice++
			t.Errorf("key %s: %d orders %v, answered %s", key, len(byUser[key]), byUser[key], id)
			continue
		}
		require.Equal(t, id, byUser[key][0], "key %s: the answer names another order", key)
		require.Equal(t, "created", status[id], "key %s", key)
	}
	require.Zero(t, twice, "keys with more than one order")
	t.Logf("%d keys over %d crashes, %d orders", len(answered), cycles, len(status))
}
