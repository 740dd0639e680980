package dlq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// TypeUndecodable is the type of the stand-in envelope under which a record that
// holds no envelope (data that is not JSON, say gzip bytes) is dead-lettered.
// Such a dead letter is kept for inspection, not replay (Entry.Replayable is
// false): putting the same bytes back fails the same way.
const TypeUndecodable = "storagefirst.undecodable"

// UndecodableDataLimit is the most bytes of an undecodable record a dead letter
// keeps: 512 KiB, 683 KiB in base64, so that the letter with its failures and
// metadata stays within SQS's 1 MiB message limit. A longer record keeps its first
// UndecodableDataLimit bytes, with its total length and SHA-256.
const UndecodableDataLimit = 512 << 10

// UndecodablePayload is the payload of a TypeUndecodable envelope: the record's
// bytes exactly as received (base64 in JSON), or their first UndecodableDataLimit
// bytes when Truncated.
type UndecodablePayload struct {
	Data []byte `json:"data"`
	// Truncated is true when Data holds only the first UndecodableDataLimit bytes.
	Truncated bool `json:"truncated,omitempty"`
	// Length is the record's total length in bytes.
	Length int `json:"length"`
	// SHA256 is the hex SHA-256 of the whole record.
	SHA256 string `json:"sha256"`
}

// Metadata keys under which the adapters record where an undecodable record came
// from, so that it can be found or sent again by hand (the letter's
// Envelope.Metadata).
const (
	// MetaPartitionKey is a Kinesis record's partition key.
	MetaPartitionKey = "kinesis.partition_key"
	// MetaSequenceNumber is a Kinesis record's sequence number.
	MetaSequenceNumber = "kinesis.sequence_number"
	// MetaShardID is the Kinesis shard a record came from, where known.
	MetaShardID = "kinesis.shard_id"
	// MetaMessageGroupID is an SQS FIFO message's MessageGroupId.
	MetaMessageGroupID = "sqs.message_group_id"
	// MetaDeduplicationID is an SQS FIFO message's MessageDeduplicationId.
	MetaDeduplicationID = "sqs.message_deduplication_id"
	// MetaAttributePrefix prefixes an SQS message attribute's name; the value is
	// the attribute's string value, or its binary value in base64.
	MetaAttributePrefix = "sqs.attribute."
)

// Raw is a record an event source delivered that could not be decoded.
type Raw struct {
	// ID is the record's identity at its source (a Kinesis event ID, an SQS
	// message ID, an EventBridge event id); empty, or one an envelope cannot
	// hold, gets a new ID.
	ID string
	// Source is where it came from (an event source ARN); one an envelope cannot
	// hold is left out.
	Source string
	// Data is the record's bytes as received.
	Data []byte
	// ReceivedAt is when the source accepted it; zero means now.
	ReceivedAt time.Time
	// Attempt is the delivery attempt, where the source counts it.
	Attempt int
	// Metadata locates the record at its source (the Meta* keys); entries beyond
	// the envelope's metadata limits are left out.
	Metadata map[string]string
}

// UndecodableEnvelope returns the stand-in envelope of r: type TypeUndecodable,
// r's ID, source and metadata, and an UndecodablePayload of its bytes.
func UndecodableEnvelope(r Raw) (storagefirst.Envelope, error) {
	sum := sha256.Sum256(r.Data)
	p := UndecodablePayload{Data: r.Data, Length: len(r.Data), SHA256: hex.EncodeToString(sum[:])}
	if len(p.Data) > UndecodableDataLimit {
		p.Data, p.Truncated = p.Data[:UndecodableDataLimit], true
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return storagefirst.Envelope{}, err
	}
	env, err := storagefirst.NewEnvelope(TypeUndecodable, payload)
	if err != nil {
		return storagefirst.Envelope{}, err
	}
	// What the source says of the record is kept where an envelope can hold it:
	// an event that was undecodable for its too long source (EventBridge's limit
	// is in characters) must still make a letter.
	if r.ID != "" && envelopeText(r.ID) {
		env.ID = r.ID
	}
	if envelopeText(r.Source) {
		env.Source = r.Source
	}
	env.Attempt = r.Attempt
	if !r.ReceivedAt.IsZero() {
		env.AcceptedAt = r.ReceivedAt.UTC()
	}
	env.Metadata = boundedMetadata(r.Metadata)
	if err := env.Validate(); err != nil {
		return storagefirst.Envelope{}, err
	}
	return env, nil
}

// envelopeText reports whether Envelope.Validate accepts s as an ID or source.
func envelopeText(s string) bool {
	return len(s) <= storagefirst.MaxTypeLength && utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// boundedMetadata copies m, leaving out the entries that would take it over the
// envelope's metadata limits (in key order) and those Envelope.Validate refuses
// (not UTF-8, or holding a NUL byte: a producer's Kinesis partition key may), so
// that what locates a record never keeps it from being dead-lettered.
func boundedMetadata(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := map[string]string{}
	size := 0
	for _, k := range sortedKeys(m) {
		v := m[k]
		if k == "" || len(out) == storagefirst.MaxMetadataEntries || size+len(k)+len(v) > storagefirst.MaxMetadataSize ||
			!utf8.ValidString(k) || !utf8.ValidString(v) || strings.ContainsRune(k, 0) || strings.ContainsRune(v, 0) {
			continue
		}
		out[k] = v
		size += len(k) + len(v)
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// UndecodableLetter returns the dead letter of r: a TypeUndecodable envelope (see
// UndecodableEnvelope) and one permanent failure recording cause.
func UndecodableLetter(r Raw, cause error, origin string, now time.Time) (storagefirst.DeadLetter, error) {
	env, err := UndecodableEnvelope(r)
	if err != nil {
		return storagefirst.DeadLetter{}, err
	}
	return undecodableLetter(env, cause, origin, now), nil
}

func undecodableLetter(env storagefirst.Envelope, cause error, origin string, now time.Time) storagefirst.DeadLetter {
	f := storagefirst.NewFailure(max(env.Attempt, 1), now, storagefirst.Permanent(cause))
	f.Origin = origin
	return storagefirst.DeadLetter{Envelope: env, Failures: []storagefirst.Failure{f}, DeadAt: now.UTC().Round(0)}
}

// SendUndecodable dead-letters r to dest (see UndecodableLetter) so that the batch
// it came in can move on. It returns nil once the dead letter is durable; otherwise
// a retryable error joining cause and the write's error, so the source delivers r
// again and nothing is lost. The write is bounded as Middleware's is.
func SendUndecodable(ctx context.Context, dest Destination, r Raw, cause error, origin string) error {
	dl, err := UndecodableLetter(r, cause, origin, time.Now())
	if err != nil {
		return undecodableNotStored(cause, err)
	}
	return sendUndecodableLetter(ctx, dest, dl, cause)
}

// sendUndecodableLetter writes dl, the dead letter of a record that cause made
// undecodable, bounded by sendTimeout even once ctx has ended (as Middleware's
// writes are); a failed write is undecodableNotStored.
func sendUndecodableLetter(ctx context.Context, dest Destination, dl storagefirst.DeadLetter, cause error) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	if err := dest.SendDeadLetter(sctx, dl); err != nil {
		return undecodableNotStored(cause, err)
	}
	return nil
}

// undecodableNotStored is the retryable error of an undecodable record whose
// dead letter was not stored (err): the source delivers it again.
func undecodableNotStored(cause, err error) error {
	return storagefirst.Retryable(errors.Join(cause, fmt.Errorf("dlq: dead letter of an undecodable record not stored: %w", err)))
}

// undecodableKey is the context key of the undecodable mark.
type undecodableKey struct{}

// undecodableMark tells Middleware that the envelope with id is the stand-in of an
// undecodable record, failed by cause, and records that it was dead-lettered.
type undecodableMark struct {
	id    string
	cause error
	sent  atomic.Bool
}

// HandleUndecodable passes the stand-in envelope of r (see UndecodableEnvelope)
// through h, the adapters' handler chain, for a source without its own dead-letter
// destination. A Middleware in h dead-letters the stand-in at once, with cause as
// its permanent failure, without running the handlers after it, and
// HandleUndecodable returns nil: the batch moves on. Without a Middleware in h
// (or when its write fails) the record fails: permanently with cause, as if it had
// not been passed on, or with the Middleware's retryable error.
func HandleUndecodable(ctx context.Context, h storagefirst.Handler, r Raw, cause error) error {
	env, err := UndecodableEnvelope(r)
	if err != nil {
		return storagefirst.Permanent(errors.Join(cause, err))
	}
	mark := &undecodableMark{id: env.ID, cause: cause}
	herr := h.Handle(context.WithValue(ctx, undecodableKey{}, mark), env)
	switch {
	case mark.sent.Load():
		return nil
	case herr != nil && !storagefirst.IsPermanent(herr):
		return herr
	}
	return storagefirst.Permanent(cause)
}

// undecodableFrom returns the mark of ctx when env is the stand-in it marks.
func undecodableFrom(ctx context.Context, env storagefirst.Envelope) *undecodableMark {
	m, _ := ctx.Value(undecodableKey{}).(*undecodableMark)
	if m == nil || env.Type != TypeUndecodable || env.ID != m.id {
		return nil
	}
	return m
}
