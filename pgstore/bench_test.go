package pgstore_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/internal/pgtest"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Benchmarks measure; they assert nothing about time. The JSON report with the
// naive baseline side by side is `storagefirst bench` (go run ./cmd/storagefirst bench).

func benchStore(b *testing.B, cfg pgstore.Config) *pgstore.Queue {
	url, schema := pgtest.NewSchema(b)
	cfg.Schema = schema
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := pgstore.New(newPool(b, url), cfg)
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, s.Close()) })
	_, err = s.Migrate(context.Background())
	require.NoError(b, err)
	q, err := s.Queue("bench")
	require.NoError(b, err)
	return q
}

func benchEnv(b *testing.B) storagefirst.Envelope {
	e, err := storagefirst.NewEnvelope("pizza.order.create", []byte(`{"username":"user-abcd","items":[{"pizza":"margherita","size":"large","extras":["basil","olive oil"]},{"pizza":"diavola","size":"medium","extras":["chili"]}],"address":"1 Example Street, Springfield","note":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`))
	require.NoError(b, err)
	return e
}

func BenchmarkPut(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  pgstore.Config
	}{{"listen", pgstore.Config{}}, {"pooled", pgstore.Config{Pooled: true}}} {
		b.Run(tc.name+"/serial", func(b *testing.B) {
			q := benchStore(b, tc.cfg)
			ctx := context.Background()
			for b.Loop() {
				require.NoError(b, q.Put(ctx, benchEnv(b)))
			}
		})
		b.Run(tc.name+"/parallel64", func(b *testing.B) {
			q := benchStore(b, tc.cfg)
			ctx := context.Background()
			b.SetParallelism(32) // 2 cores x 32 = 64 callers
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					require.NoError(b, q.Put(ctx, benchEnv(b)))
				}
			})
		})
	}
}

func BenchmarkClaimAck(b *testing.B) {
	q := benchStore(b, pgstore.Config{})
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		require.NoError(b, q.Put(ctx, benchEnv(b)))
		b.StartTimer()
		ds, err := q.Claim(ctx, 1, time.Minute)
		require.NoError(b, err)
		require.NoError(b, q.Ack(ctx, ds[0].Lease))
	}
}
