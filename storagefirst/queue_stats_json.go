package storagefirst

import (
	"encoding/json"
	"time"
)

// queueStatsJSON is the JSON shape of QueueStats: counts, and the age of the
// oldest ready envelope in seconds (a float, millisecond precision).
type queueStatsJSON struct {
	Ready                 int64   `json:"ready"`
	Scheduled             int64   `json:"scheduled"`
	InFlight              int64   `json:"in_flight"`
	Dead                  int64   `json:"dead"`
	OldestReadyAgeSeconds float64 `json:"oldest_ready_age_seconds"`
}

// MarshalJSON encodes s as {"ready", "scheduled", "in_flight", "dead",
// "oldest_ready_age_seconds"}: the age is in seconds (a float rounded to the
// millisecond), the unit of every age this module answers, not a raw
// nanosecond count.
func (s QueueStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(queueStatsJSON{Ready: s.Ready, Scheduled: s.Scheduled, InFlight: s.InFlight, Dead: s.Dead,
		OldestReadyAgeSeconds: s.OldestReadyAge.Round(time.Millisecond).Seconds()})
}

// UnmarshalJSON decodes what MarshalJSON encodes.
func (s *QueueStats) UnmarshalJSON(b []byte) error {
	var j queueStatsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = QueueStats{Ready: j.Ready, Scheduled: j.Scheduled, InFlight: j.InFlight, Dead: j.Dead,
		OldestReadyAge: time.Duration(j.OldestReadyAgeSeconds * float64(time.Second)).Round(time.Millisecond)}
	return nil
}
