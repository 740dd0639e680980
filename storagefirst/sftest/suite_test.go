package sftest_test

import (
	"testing"

	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sftest"
)

func TestMemoryQueueConformance(t *testing.T) {
	t.Parallel()
	sftest.RunQueueSuite(t, func(t *testing.T) sftest.QueueBackend {
		return sftest.NewMemoryQueue(nil)
	}, sftest.QueueFeatures{})
}

func TestMemoryIdempotencyConformance(t *testing.T) {
	t.Parallel()
	sftest.RunIdempotencySuite(t, func(t *testing.T) storagefirst.IdempotencyStore {
		return sftest.NewMemoryIdempotencyStore(nil)
	})
}
