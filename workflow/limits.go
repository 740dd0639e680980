package workflow

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Bounds of what an execution stores, as Step Functions has them.
const (
	// MaxDataBytes bounds a task's result and every state's output: 256 KiB. A
	// larger one fails the state with States.DataLimitExceeded (which States.ALL
	// does not catch), and is not stored.
	MaxDataBytes = 256 << 10
	// MaxCauseLength bounds an error's Cause, in characters: a longer one is cut
	// (at a character boundary) and marked.
	MaxCauseLength = 32768
	// MaxErrorNameLength bounds an error's name, in characters.
	MaxErrorNameLength = 256
	// MaxDeadLetterBytesDefault is the default EngineConfig.MaxDeadLetterBytes:
	// 256 KiB, an SQS queue's classic message limit.
	MaxDeadLetterBytesDefault = 256 << 10
	// DeadLetterOverhead is the most an execution's dead letter adds to its input
	// (the envelope's other fields, the failure with at most
	// maxDeadLetterCause of cause and maxDeadLetterHistory of history, as a
	// destination such as dlq/sqs encodes them in body and attributes): a
	// workflow's MaxInputBytes plus this must fit EngineConfig.MaxDeadLetterBytes.
	DeadLetterOverhead = 64 << 10
	// maxDeadLetterCause and maxDeadLetterHistory bound the failure text of a
	// dead letter, in bytes.
	maxDeadLetterCause   = 4 << 10
	maxDeadLetterHistory = 8 << 10
)

// capBytes returns s cut to at most n bytes at a character boundary, ending in
// truncatedMark when cut.
func capBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := max(n-len(truncatedMark), 0)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + truncatedMark
}

// checkData refuses a state's data larger than MaxDataBytes.
func checkData(what string, data []byte) error {
	if len(data) > MaxDataBytes {
		return &NamedError{Name: ErrorDataLimitExceeded,
			Cause: fmt.Sprintf("the %s has %d bytes, more than %d", what, len(data), MaxDataBytes)}
	}
	return nil
}

// truncatedMark ends a cut Cause.
const truncatedMark = "... (truncated)"

// capText returns s cut to at most n characters (runes), at a character
// boundary, ending in truncatedMark when cut; invalid UTF-8 is replaced.
func capText(s string, n int) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	keep := n - utf8.RuneCountInString(truncatedMark)
	i := 0
	for j := range s {
		if keep == 0 {
			i = j
			break
		}
		keep--
	}
	return s[:i] + truncatedMark
}
