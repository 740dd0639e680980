package storagefirst_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestQueueStatsJSONAgeInSeconds(t *testing.T) {
	t.Parallel()
	s := storagefirst.QueueStats{Ready: 2, Scheduled: 1, InFlight: 3, Dead: 4, OldestReadyAge: 1500*time.Millisecond + 300*time.Microsecond}
	b, err := json.Marshal(s)
	require.NoError(t, err)
	require.JSONEq(t, `{"ready":2,"scheduled":1,"in_flight":3,"dead":4,"oldest_ready_age_seconds":1.5}`, string(b))
	var back storagefirst.QueueStats
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, storagefirst.QueueStats{Ready: 2, Scheduled: 1, InFlight: 3, Dead: 4, OldestReadyAge: 1500 * time.Millisecond}, back)
}
