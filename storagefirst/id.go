package storagefirst

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewID returns a new UUIDv7 (RFC 9562) as a lower-case string such as
// "0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b".
//
// The first 48 bits are the Unix time in milliseconds and the next 12 bits the
// fraction of that millisecond (RFC 9562, section 6.2, method 3), so IDs sort by
// creation time to about a quarter of a microsecond, and their string form sorts the
// same way. The remaining 62 bits come from crypto/rand. NewID keeps no state.
func NewID() string { return newIDAt(time.Now()) }

func newIDAt(t time.Time) string {
	var u [16]byte
	ns := t.UnixNano()
	ms := uint64(ns / int64(time.Millisecond))
	frac := uint64(ns%int64(time.Millisecond)) * 4096 / uint64(time.Millisecond)
	u[0] = byte(ms >> 40)
	u[1] = byte(ms >> 32)
	u[2] = byte(ms >> 24)
	u[3] = byte(ms >> 16)
	u[4] = byte(ms >> 8)
	u[5] = byte(ms)
	u[6] = 0x70 | byte(frac>>8)&0x0f
	u[7] = byte(frac)
	_, _ = rand.Read(u[8:]) // crypto/rand.Read never fails (Go 1.24+ panics instead)
	u[8] = u[8]&0x3f | 0x80
	return FormatUUID(u)
}

// FormatUUID returns u in the lower-case 8-4-4-4-12 hexadecimal form of RFC 9562,
// such as "0192b3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b"; it sets no version or variant bits.
func FormatUUID(u [16]byte) string {
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}
