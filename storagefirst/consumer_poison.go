package storagefirst

import (
	"errors"
	"fmt"
	"time"
)

// FailureCodeLeaseExpired is the Failure.Code of an envelope that the Consumer
// dead-lettered without running its handler, because earlier deliveries used up the
// RetryPolicy's attempts and their leases expired unanswered.
const FailureCodeLeaseExpired = "LeaseExpired"

// ErrLeasesExpired is wrapped by the error of a delivery that the Consumer
// dead-lettered unhandled: it was delivered more often than the RetryPolicy allows
// attempts because its handler never answered (the worker crashed, was killed or
// hung until its lease ran out), so it is probably poison.
var ErrLeasesExpired = errors.New("storagefirst: leases expired unanswered")

// exhaustedByExpiry returns, when d is past the attempts that policy allows, the
// error with which to dead-letter it without running the handler (nil otherwise). An attempt that the consumer answered leaves a failure (Retry) or ends
// the envelope, so every delivery beyond the policy's attempts is one whose earlier
// leases expired unanswered: as River and Oban discard a job at rescue, the consumer
// stops handing it to workers it kills.
func exhaustedByExpiry(policy RetryPolicy, d Delivery) error {
	allowed := policy.Retries() + 1
	attempt := d.Envelope.Attempt
	if attempt <= allowed {
		return nil
	}
	lost := attempt - 1 - answeredFailures(d.Failures, attempt, replayedAt(d.Envelope))
	lost = min(max(lost, 1), attempt-1)
	return fmt.Errorf("%w: delivery %d of envelope %s under a retry policy allowing %d attempts; "+
		"%d earlier lease(s) expired without an answer (the handler crashed, was killed or hung)",
		ErrLeasesExpired, attempt, d.Envelope.ID, allowed, lost)
}

// answeredFailures counts the failures recorded by earlier attempts of the current
// run of deliveries: the trailing failures whose attempt numbers fall, from the
// newest back, below attempt, and that are not older than the envelope's last
// replay (a replay resets attempts, so older runs number again from 1).
func answeredFailures(fs []Failure, attempt int, since time.Time) int {
	n, below := 0, attempt
	for i := len(fs) - 1; i >= 0; i-- {
		a := fs[i].Attempt
		if a <= 0 || a >= below || fs[i].At.Before(since) {
			break
		}
		n, below = n+1, a
	}
	return n
}

// replayedAt returns when env was last replayed (zero if never, or unreadable).
func replayedAt(env Envelope) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, env.Metadata[MetadataReplayedAt])
	return t
}
