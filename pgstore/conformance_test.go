package pgstore_test

import (
	"testing"

	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

func TestQueueConformance(t *testing.T) {
	t.Parallel()
	sftest.RunQueueSuite(t, func(t *testing.T) sftest.QueueBackend {
		return setup(t).queue(t, "conformance")
	}, sftest.QueueFeatures{
		Reopen: func(t *testing.T, old sftest.QueueBackend) sftest.QueueBackend {
			q := old.(*pgstore.Queue)
			// A new pool and store on the same schema: only what was committed remains.
			b := &bundle{url: q.Store().Pool().Config().ConnString(), schema: q.Store().Schema()}
			q.Store().Close()
			q.Store().Pool().Close()
			b.pool = newPool(t, b.url)
			b.store = newStore(t, b.pool, b.schema)
			return b.queue(t, q.Name())
		},
	})
}

func TestIdempotencyConformance(t *testing.T) {
	t.Parallel()
	sftest.RunIdempotencySuite(t, func(t *testing.T) storagefirst.IdempotencyStore {
		return setup(t).store.Idempotency()
	})
}
