package dlq_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/dlq"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

func TestSendUndecodableFailsRetryableWhenTheWriteFails(t *testing.T) {
	t.Parallel()
	err := dlq.SendUndecodable(context.Background(), failingDest{err: errors.New("disk full")}, dlq.Raw{ID: "r1", Data: []byte{0x1f, 0x8b}}, errors.New("not JSON"), "o")
	require.True(t, storagefirst.IsRetryable(err))
	require.ErrorContains(t, err, "disk full")
	require.ErrorContains(t, err, "not JSON")
}

func FuzzUndecodableLetter(f *testing.F) {
	f.Add("shardId-000000000000:1", []byte{0x1f, 0x8b, 0x08})
	f.Add("", []byte(`{"a":`))
	f.Add("\xff", []byte{})
	f.Fuzz(func(t *testing.T, id string, data []byte) {
		now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
		dl, err := dlq.UndecodableLetter(dlq.Raw{ID: id, Data: data}, errors.New("bad"), "o", now)
		if err != nil {
			require.ErrorIs(t, err, storagefirst.ErrInvalidEnvelope)
			return
		}
		require.NoError(t, dl.Envelope.Validate())
		require.Equal(t, dlq.TypeUndecodable, dl.Envelope.Type)
		var p dlq.UndecodablePayload
		require.NoError(t, json.Unmarshal(dl.Envelope.Payload, &p))
		require.Equal(t, string(data), string(p.Data))
		require.False(t, p.Truncated)
		require.Equal(t, len(data), p.Length)
		require.Len(t, p.SHA256, 64)
		require.Equal(t, "permanent", dl.LastFailure().Class)
	})
}

// TestUndecodableLetterLeavesOutMetadataAnEnvelopeRefuses: a locating entry an
// envelope cannot hold (a partition key with a NUL byte, bytes that are not
// UTF-8) is left out, and the record is dead-lettered all the same.
func TestUndecodableLetterLeavesOutMetadataAnEnvelopeRefuses(t *testing.T) {
	t.Parallel()
	md := map[string]string{dlq.MetaPartitionKey: "order\x001", dlq.MetaSequenceNumber: "7", "\xff": "x", "k": "\xfe"}
	dl, err := dlq.UndecodableLetter(dlq.Raw{ID: "r1", Data: []byte{0x1f, 0x8b}, Metadata: md}, errors.New("bad"), "o", time.Now())
	require.NoError(t, err)
	require.NoError(t, dl.Envelope.Validate())
	require.Equal(t, map[string]string{dlq.MetaSequenceNumber: "7"}, dl.Envelope.Metadata)
}

// TestUndecodableLetterOfAnEventWithATooLongSource: an event whose source an
// envelope cannot hold (256 characters, 512 bytes) is undecodable for it; its
// letter is made all the same, under its ID, without that source.
func TestUndecodableLetterOfAnEventWithATooLongSource(t *testing.T) {
	t.Parallel()
	dl, err := dlq.UndecodableLetter(dlq.Raw{ID: "ev-1", Source: strings.Repeat("é", 256), Data: []byte(`{}`)}, errors.New("bad"), "o", time.Now())
	require.NoError(t, err)
	require.NoError(t, dl.Envelope.Validate())
	require.Equal(t, "ev-1", dl.Envelope.ID)
	require.Empty(t, dl.Envelope.Source)
}
