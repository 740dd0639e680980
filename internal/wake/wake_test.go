package wake_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/wake"
)

func TestHub(t *testing.T) {
	t.Parallel()
	var h wake.Hub
	ctx, cancel := context.WithCancel(context.Background())
	a, b := h.Subscribe(ctx, "a"), h.Subscribe(ctx, "b")
	h.Notify("a")
	h.Notify("a") // coalesced
	select {
	case <-a:
	case <-time.After(5 * time.Second):
		require.FailNow(t, "a not woken")
	}
	select {
	case <-b:
		require.FailNow(t, "b woken by a's notify")
	default:
	}
	h.NotifyAll()
	<-b
	cancel()
	for range a {
	}
	for range b {
	}
}
