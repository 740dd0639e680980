package dlq

import (
	"crypto/sha256"
	"time"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// MetadataReplayOf names, on an envelope that Replay re-put under a new ID, the ID
// of the dead letter it replays (the first one of a chain of replays).
const MetadataReplayOf = "storagefirst-replay-of"

// OriginalID returns the ID env had before any Replay re-put it under a new ID:
// its MetadataReplayOf, or its ID. Key a consumer's idempotency on it (or on
// Envelope.Key, which Replay keeps) to see a replayed envelope as the original.
func OriginalID(env storagefirst.Envelope) string {
	if id := env.Metadata[MetadataReplayOf]; id != "" {
		return id
	}
	return env.ID
}

// asReplay returns the envelope Replay re-puts for e: marked replayed at now, its
// attempt reset, and, when newID, under an ID derived from the dead letter's ID and
// the time it died (see replayID), keeping its idempotency key (Key) and its
// original ID in MetadataReplayOf.
func asReplay(e Entry, now time.Time, newID bool) storagefirst.Envelope {
	env := storagefirst.MarkReplayed(e.Envelope, now)
	env.Attempt = 0
	if !newID {
		return env
	}
	env.IdempotencyKey = e.Envelope.Key()
	env.Metadata[MetadataReplayOf] = OriginalID(e.Envelope)
	env.ID = replayID(e.Envelope.ID, e.DeadAt)
	return env
}

// replayID derives the ID of the re-put of the dead letter id that died at deadAt:
// the same for every run of a replay of that dead letter (so a re-run after an
// interrupted one is a duplicate the sink absorbs) and new for each death. It has
// the shape of a UUIDv7 (RFC 9562) whose time is deadAt's, so replayed envelopes
// sort by when they died; the rest are bits of a SHA-256 of both.
func replayID(id string, deadAt time.Time) string {
	h := sha256.Sum256([]byte("storagefirst-replay\x00" + id + "\x00" + deadAt.UTC().Format(time.RFC3339Nano)))
	var u [16]byte
	copy(u[:], h[:16])
	if !deadAt.IsZero() && deadAt.UnixMilli() > 0 {
		ms := uint64(deadAt.UnixMilli())
		for i := range 6 {
			u[i] = byte(ms >> (40 - 8*i))
		}
	}
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return storagefirst.FormatUUID(u)
}
