package storagefirst

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Defaults of RetryPolicy, those of an AWS Step Functions Retrier.
const (
	// RetryIntervalDefault is the wait before the first retry.
	RetryIntervalDefault = time.Second
	// RetryMaxRetriesDefault is the number of retries after the first attempt (Step
	// Functions' MaxAttempts default).
	RetryMaxRetriesDefault = 3
	// RetryBackoffRateDefault multiplies the wait after each retry.
	RetryBackoffRateDefault = 2.0
)

// JitterStrategy is a Step Functions JitterStrategy.
type JitterStrategy string

const (
	// JitterNone waits exactly the computed delay. The default.
	JitterNone JitterStrategy = "NONE"
	// JitterFull waits a uniformly random time between 0 and the computed delay.
	JitterFull JitterStrategy = "FULL"
)

// RetryPolicy says when and how often a failed envelope is tried again. Its fields
// and defaults are those of an AWS Step Functions Retrier, named for what they
// count: the zero value is the default policy, 3 retries (4 attempts in all) after
// 1 s, 2 s and 4 s, without jitter, for every retryable error. Like every zero
// field, a zero MaxRetries means its default; NoRetries turns retries off.
//
// Step Functions' MaxAttempts counts retries too, with 0 meaning none: the
// workflow package translates it at the ASL boundary (MaxAttempts n is MaxRetries
// n, MaxAttempts 0 is NoRetries, an absent MaxAttempts the default).
//
// Retry number n (1 for the first retry) waits
// min(Interval * BackoffRate^(n-1), MaxDelay), or a uniformly random part of that
// with JitterFull, and never less than a delay the error asks for with RetryAfter.
type RetryPolicy struct {
	// Interval is the wait before the first retry. Zero means RetryIntervalDefault.
	Interval time.Duration
	// MaxRetries is the number of retries after the first attempt, so an envelope
	// is tried at most MaxRetries+1 times. Zero means RetryMaxRetriesDefault; it
	// must not be negative. For no retries at all, set NoRetries.
	MaxRetries int
	// NoRetries disables retries: the first failure is final. MaxRetries must then
	// be zero.
	NoRetries bool
	// BackoffRate multiplies the wait after each retry; at least 1. Zero means
	// RetryBackoffRateDefault.
	BackoffRate float64
	// MaxDelay caps the wait between attempts. Zero means no cap.
	MaxDelay time.Duration
	// Jitter is JitterNone (the default, also for "") or JitterFull.
	Jitter JitterStrategy
	// Match says which errors this policy retries (Step Functions' ErrorEquals). Nil
	// means IsRetryable. Permanent and canceled errors are never retried, whatever
	// Match says.
	Match func(error) bool
}

// Validate reports a policy whose fields are out of range.
func (p RetryPolicy) Validate() error {
	switch {
	case p.Interval < 0:
		return fmt.Errorf("storagefirst: RetryPolicy.Interval %v is negative", p.Interval)
	case p.MaxRetries < 0:
		return fmt.Errorf("storagefirst: RetryPolicy.MaxRetries %d is negative (set NoRetries for none)", p.MaxRetries)
	case p.NoRetries && p.MaxRetries != 0:
		return fmt.Errorf("storagefirst: RetryPolicy.NoRetries with MaxRetries %d", p.MaxRetries)
	case p.BackoffRate != 0 && (p.BackoffRate < 1 || math.IsNaN(p.BackoffRate) || math.IsInf(p.BackoffRate, 0)):
		return fmt.Errorf("storagefirst: RetryPolicy.BackoffRate %v is below 1", p.BackoffRate)
	case p.MaxDelay < 0:
		return fmt.Errorf("storagefirst: RetryPolicy.MaxDelay %v is negative", p.MaxDelay)
	case p.Jitter != "" && p.Jitter != JitterNone && p.Jitter != JitterFull:
		return fmt.Errorf("storagefirst: RetryPolicy.Jitter %q is not NONE or FULL", p.Jitter)
	}
	return nil
}

// Retries returns the number of retries the policy allows after the first attempt.
func (p RetryPolicy) Retries() int {
	switch {
	case p.NoRetries || p.MaxRetries < 0:
		return 0
	case p.MaxRetries == 0:
		return RetryMaxRetriesDefault
	}
	return p.MaxRetries
}

// ShouldRetry reports whether an attempt that failed with err, after the given
// number of retries already made, is to be retried.
func (p RetryPolicy) ShouldRetry(err error, retries int) bool {
	if err == nil || retries >= p.Retries() || Classify(err) != ClassRetryable {
		return false
	}
	if p.Match != nil {
		return p.Match(err)
	}
	return true
}

// BaseDelay returns the wait before retry number n (1 for the first retry), before
// jitter and without regard to any error's RetryAfter.
func (p RetryPolicy) BaseDelay(n int) time.Duration {
	interval := p.Interval
	if interval == 0 {
		interval = RetryIntervalDefault
	}
	rate := p.BackoffRate
	if rate == 0 {
		rate = RetryBackoffRateDefault
	}
	d := float64(interval) * math.Pow(rate, float64(max(n, 1)-1))
	limit := float64(math.MaxInt64)
	if p.MaxDelay > 0 {
		limit = float64(p.MaxDelay)
	}
	if d >= limit || math.IsInf(d, 0) || math.IsNaN(d) {
		return time.Duration(limit)
	}
	return time.Duration(d)
}

// Delay returns the wait before retry number n after a failure with err: BaseDelay
// with the policy's jitter, and at least RetryAfterOf(err).
func (p RetryPolicy) Delay(n int, err error) time.Duration {
	d := p.BaseDelay(n)
	if p.Jitter == JitterFull && d > 0 {
		d = rand.N(d + 1)
	}
	if ra, ok := RetryAfterOf(err); ok && ra > d {
		d = ra
	}
	return d
}

// BackOff returns the policy as a github.com/cenkalti/backoff/v4 BackOff, for use
// with backoff.Retry and its relatives: NextBackOff returns the policy's delays and
// backoff.Stop once the retries are used up. Which errors are retried is not known to
// a BackOff; wrap non-retryable ones with backoff.Permanent, or use the Retry
// middleware, which does.
func (p RetryPolicy) BackOff() backoff.BackOff {
	return &policyBackOff{policy: p}
}

// policyBackOff is a RetryPolicy as a backoff.BackOff. lastErr, when set, is read for
// a RetryAfter delay and the Match predicate.
type policyBackOff struct {
	policy  RetryPolicy
	retries int
	lastErr error
}

func (b *policyBackOff) Reset() { b.retries = 0 }

func (b *policyBackOff) NextBackOff() time.Duration {
	if b.retries >= b.policy.Retries() {
		return backoff.Stop
	}
	if b.lastErr != nil && !b.policy.ShouldRetry(b.lastErr, b.retries) {
		return backoff.Stop
	}
	b.retries++
	return b.policy.Delay(b.retries, b.lastErr)
}
