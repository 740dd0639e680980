// Package wake fans "there is new work" signals out to subscribers by topic (a
// queue name): the in-process half of storagefirst.Waker for the stores.
//
// The stores and sftest import it; it imports only the standard library.
package wake

import (
	"context"
	"slices"
	"sync"
)

// Hub holds subscriptions. The zero value is ready to use.
type Hub struct {
	mu   sync.Mutex
	subs map[string][]chan struct{}
}

// Subscribe returns a channel that receives (coalesced) after each Notify of
// topic, and is closed when ctx ends.
func (h *Hub) Subscribe(ctx context.Context, topic string) <-chan struct{} {
	c := make(chan struct{}, 1)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[string][]chan struct{}{}
	}
	h.subs[topic] = append(h.subs[topic], c)
	h.mu.Unlock()
	out := make(chan struct{})
	go func() {
		defer close(out)
		defer func() {
			h.mu.Lock()
			h.subs[topic] = slices.DeleteFunc(h.subs[topic], func(x chan struct{}) bool { return x == c })
			h.mu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c:
				select {
				case out <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}

// Notify wakes the subscribers of topic.
func (h *Hub) Notify(topic string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, c := range h.subs[topic] {
		select {
		case c <- struct{}{}:
		default: // one is pending already
		}
	}
}

// NotifyAll wakes every subscriber.
func (h *Hub) NotifyAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, cs := range h.subs {
		for _, c := range cs {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
}
