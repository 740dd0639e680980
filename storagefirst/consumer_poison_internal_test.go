package storagefirst

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestExhaustedByExpiryCountsTheLostLeases: the failure says how many leases of the
// current run of deliveries expired unanswered, not counting answered attempts nor
// the history from before a replay.
func TestExhaustedByExpiryCountsTheLostLeases(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	policy := RetryPolicy{MaxRetries: 2} // 3 attempts
	env := Envelope{ID: "e", Attempt: 3}
	require.NoError(t, exhaustedByExpiry(policy, Delivery{Envelope: env}), "within the policy")

	env.Attempt = 6
	err := exhaustedByExpiry(policy, Delivery{Envelope: env})
	require.ErrorIs(t, err, ErrLeasesExpired)
	require.ErrorContains(t, err, "delivery 6 of envelope e under a retry policy allowing 3 attempts; 5 earlier lease(s) expired")

	answered := []Failure{{Attempt: 2, At: t0}, {Attempt: 4, At: t0.Add(time.Minute)}}
	err = exhaustedByExpiry(policy, Delivery{Envelope: env, Failures: answered})
	require.ErrorContains(t, err, "; 3 earlier lease(s) expired")

	// Failures of an earlier run, then a replay, then five lost leases.
	old := []Failure{{Attempt: 1, At: t0}, {Attempt: 2, At: t0.Add(time.Minute)}, {Attempt: 3, At: t0.Add(2 * time.Minute)}}
	replayed := MarkReplayed(env, t0.Add(time.Hour))
	err = exhaustedByExpiry(policy, Delivery{Envelope: replayed, Failures: old})
	require.ErrorContains(t, err, "; 5 earlier lease(s) expired")
	// Without the replay mark the same history reads as three answered attempts.
	err = exhaustedByExpiry(policy, Delivery{Envelope: env, Failures: old})
	require.ErrorContains(t, err, "; 2 earlier lease(s) expired")

	never := RetryPolicy{NoRetries: true}
	env.Attempt = 2
	require.ErrorContains(t, exhaustedByExpiry(never, Delivery{Envelope: env}), "allowing 1 attempts; 1 earlier lease(s) expired")
}
