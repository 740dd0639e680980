// Package sqstext keeps text within the characters SQS accepts in a message body
// and in string attribute values: #x9, #xA, #xD, #x20 to #xD7FF, #xE000 to
// #xFFFD and #x10000 to #x10FFFF. SQS refuses a message with any other
// (InvalidMessageContents), which for a sink or a dead-letter destination would
// be a refusal no retry gets past.
package sqstext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Allowed reports whether SQS accepts r in a message.
func Allowed(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}

// Valid reports whether SQS accepts every character of s (and s is UTF-8).
func Valid(s string) bool {
	for i, r := range s {
		if !Allowed(r) || r == utf8.RuneError && isInvalidAt(s, i) {
			return false
		}
	}
	return true
}

func isInvalidAt(s string, i int) bool {
	_, n := utf8.DecodeRuneInString(s[i:])
	return n <= 1
}

// EscapeJSON returns the JSON text b with every character SQS refuses written as
// a \uXXXX escape, which a JSON decoder reads back as the same character, so the
// document means exactly what it meant. Such characters can only be inside JSON
// strings (outside them, valid JSON has only ASCII), where the escape is valid.
// b is returned as is when it needs nothing.
func EscapeJSON(b []byte) []byte {
	s := string(b)
	if Valid(s) {
		return b
	}
	var out strings.Builder
	out.Grow(len(s) + 16)
	for i, r := range s {
		switch {
		case r == utf8.RuneError && isInvalidAt(s, i):
			out.WriteString(`\ufffd`) // a byte that is not UTF-8: JSON cannot carry it either
		case !Allowed(r):
			fmt.Fprintf(&out, `\u%04x`, r)
		default:
			out.WriteRune(r)
		}
	}
	return []byte(out.String())
}

// Sanitize returns s with every character SQS refuses replaced by U+FFFD: for
// descriptive text (an error message) where a lossy character beats a message
// SQS refuses.
func Sanitize(s string) string {
	if Valid(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if !Allowed(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
}
