package integration_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/operator"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/sqliteshop"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// adminToken is the shop's admin token in the browser test.
const adminToken = "browser-test-admin-token"

// shopClient calls the pizza shop's API.
type shopClient struct {
	t   *testing.T
	url string
}

// create posts an order and returns its ID.
func (c shopClient) create(body string) string {
	c.t.Helper()
	res, err := http.Post(c.url+"/orders", "application/json", strings.NewReader(body))
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	require.Equal(c.t, http.StatusAccepted, res.StatusCode, string(b))
	var acc struct{ ID string }
	require.NoError(c.t, json.Unmarshal(b, &acc))
	return acc.ID
}

// waitStatus polls the order until it has the status.
func (c shopClient) waitStatus(id, status string) {
	c.t.Helper()
	waitFor(c.t, "order "+id+" "+status, func() bool {
		res, err := http.Get(c.url + "/orders/" + id)
		require.NoError(c.t, err)
		defer res.Body.Close()
		var o shop.Order
		if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&o) != nil {
			return false
		}
		return o.Status == status
	})
}

// chromiumNames are the executables chromium looks for on PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// chromium finds a Chromium to drive: skipped loudly without one (the warning goes
// to stderr, so that `go test` without -v shows it), but a failure under CI=true
// (.ci/run installs Debian's chromium).
func chromium(t *testing.T) string { return findChromium(t, exec.LookPath, os.Stderr) }

func findChromium(t *testing.T, lookPath func(string) (string, error), stderr io.Writer) string {
	for _, name := range chromiumNames {
		if p, err := lookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true and no Chromium: the console's browser test cannot run (apt-get install chromium)")
	}
	const msg = "SKIPPED: no Chromium on PATH, so the console was NOT tested in a browser (apt-get install chromium)"
	fmt.Fprintf(stderr, "WARNING: %s: %s\n", t.Name(), msg)
	t.Skip(msg)
	return ""
}

// Without Chromium (and without CI=true) the browser test is skipped with a
// warning on stderr, which `go test` shows also without -v.
func TestNoChromiumWarnsOnStderr(t *testing.T) {
	t.Setenv("CI", "")
	var stderr strings.Builder
	t.Run("no-chromium", func(t *testing.T) {
		findChromium(t, func(string) (string, error) { return "", exec.ErrNotFound }, &stderr)
		t.Error("not skipped without Chromium")
	})
	require.Contains(t, stderr.String(), "WARNING: TestNoChromiumWarnsOnStderr/no-chromium: SKIPPED: no Chromium")
}

// TestConsoleInABrowser drives the pizza shop's console in headless Chromium: it
// is refused without credentials; with them it shows a dead letter the test made,
// opens it, replays it, and the dead letter is gone and the order created.
// Screenshots of each page go to the test's temp dir (or CONSOLE_SCREENSHOTS).
func TestConsoleInABrowser(t *testing.T) {
	browser := chromium(t)
	shots := os.Getenv("CONSOLE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(shots, 0o755))

	b, err := sqliteshop.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), "pizza.db"))
	require.NoError(t, err)
	cfg, err := operator.Configure(shop.Config{Backend: b, Logger: slog.New(slog.DiscardHandler), RetryInterval: 10 * time.Millisecond},
		console.Auth{BearerToken: adminToken}, nil)
	require.NoError(t, err)
	s, err := shop.New(cfg)
	require.NoError(t, err)
	runCtx, stopRun := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(runCtx) }()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); stopRun(); require.NoError(t, <-done); b.Close() })
	c := shopClient{t, srv.URL}

	// A dead letter: a create that fails for good.
	s.SetFailCreate(func(o shop.CreateOrder) error {
		if strings.HasPrefix(o.Username, "poison") {
			return storagefirst.Permanentf("the oven rejects %s", o.Username)
		}
		return nil
	})
	id := c.create(`{"username":"poison-pete","items":["margherita"]}`)
	c.waitStatus(id, shop.StatusFailed)
	s.SetFailCreate(nil)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(browser), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(1280, 800))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		path := filepath.Join(shots, name+".png")
		require.NoError(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot: %s", path)
	}

	// Without credentials: refused.
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+"/console/"))
	require.NoError(t, err)
	require.Equal(t, int64(http.StatusUnauthorized), res.Status)
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	require.NoError(t, err)
	require.Contains(t, body, "authentication required")
	require.NotContains(t, body, id)
	shot("0-refused")

	// With the token (sent on every request of the page, as a proxy or an
	// extension would).
	_, err = chromedp.Call(ctx, network.SetExtraHTTPHeaders,
		network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + adminToken}})
	require.NoError(t, err)

	// The overview: the create-order queue has one dead letter.
	res, err = chromedp.Run(ctx, chromedp.NavigateResponse(srv.URL+"/console/"))
	require.NoError(t, err)
	require.Equal(t, int64(http.StatusOK), res.Status)
	table, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#queues table")))
	require.NoError(t, err)
	require.Contains(t, table, "create-order")
	shot("1-queues")

	// Follow the dead count to the dead letters; the test's one is listed.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href*="queue=create-order"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href*="`+id+`"]`))))
	shot("2-dead-letters")

	// Open it: payload, metadata and failure history.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[href*="`+id+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#replay"))))
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Contains(t, page, "poison-pete")
	require.Contains(t, page, "the oven rejects poison-pete")
	require.Contains(t, page, "Failure history")
	shot("3-dead-letter")

	// Replay it: back on the list, with a message, and the dead letter is gone.
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#replay")),
		chromedp.WaitVisible(chromedp.CSS(".flash"))))
	flash, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".flash")))
	require.NoError(t, err)
	require.Contains(t, flash, "Replayed 1")
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.NotContains(t, list, id)
	shot("4-replayed")

	// And the order is created.
	c.waitStatus(id, shop.StatusCreated)
	dead, err := b.OrdersQueue().Stats(context.Background())
	require.NoError(t, err)
	require.Zero(t, dead.Dead)

	// The overview's figures update without a reload: a new dead letter appears
	// while the page (marked, to prove it is the same document) stays open.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS("#queues table"))))
	_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameDocument = true`))
	require.NoError(t, err)
	s.SetFailCreate(func(o shop.CreateOrder) error { return storagefirst.Permanentf("still broken") })
	id2 := c.create(`{"username":"poison-paul"}`)
	c.waitStatus(id2, shop.StatusFailed)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](
		`document.querySelector('#queues').textContent.includes('1 dead letters in create-order')`,
		chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	require.NoError(t, err, "the queue figures did not refresh")
	same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.sameDocument === true`))
	require.NoError(t, err)
	require.True(t, same, "the page was reloaded")
	shot("5-refreshed")
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the browser test ran out of time")
	}
}
