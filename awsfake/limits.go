package awsfake

// Limits are the documented service limits the fake enforces, answering as AWS
// does when a request breaks one. New starts with DefaultLimits; SetLimits
// changes them (for example to the historical 256 KB limits a queue or bus may
// still be configured with). A zero field means no limit.
type Limits struct {
	// PutEventsEntryBytes bounds one PutEvents entry and PutEventsRequestBytes the
	// total of a request's entries, both counted as EventBridge documents ("Calculating
	// PutEvents event entry size"): 14 bytes for Time when set, plus Source,
	// DetailType, Detail and each of Resources in UTF-8. Breaking either fails the
	// request with 400 ValidationException "Total size of the entries in the request
	// is over the limit.".
	PutEventsEntryBytes   int
	PutEventsRequestBytes int
	// SQSMessageBytes bounds one message (body plus each attribute's name, data
	// type and value) and SQSBatchBytes the total of a SendMessageBatch. A batch over
	// the total fails with 400 AWS.SimpleQueueService.BatchRequestTooLong; a message
	// over its limit, or with more than SQSMaxAttributes attributes, fails alone
	// (SenderFault, InvalidParameterValue).
	SQSMessageBytes  int
	SQSBatchBytes    int
	SQSMaxAttributes int
	// KinesisRecordBytes bounds one record (data plus partition key) and
	// KinesisRequestBytes a PutRecords request (partition keys included): 400
	// ValidationException for data over the record limit, InvalidArgumentException
	// otherwise.
	KinesisRecordBytes  int
	KinesisRequestBytes int
}

// The limits in force as documented at the time of writing.
const (
	// EventBridge: 1 MB per event since January 2026 (256 KB before).
	PutEventsEntryBytesDefault   = 1 << 20
	PutEventsRequestBytesDefault = 1 << 20
	// SQS: 1 MiB per message and per batch since January 2026 (256 KiB before);
	// 10 message attributes.
	SQSMessageBytesDefault  = 1 << 20
	SQSBatchBytesDefault    = 1 << 20
	SQSMaxAttributesDefault = 10
	// Kinesis: 1 MiB per record and 5 MiB per PutRecords (10 MiB each opt-in).
	KinesisRecordBytesDefault  = 1 << 20
	KinesisRequestBytesDefault = 5 << 20
	// KinesisMaxPartitionKey is the longest partition key, in Unicode characters.
	KinesisMaxPartitionKey = 256
)

// DefaultLimits returns the limits New starts with.
func DefaultLimits() Limits {
	return Limits{
		PutEventsEntryBytes: PutEventsEntryBytesDefault, PutEventsRequestBytes: PutEventsRequestBytesDefault,
		SQSMessageBytes: SQSMessageBytesDefault, SQSBatchBytes: SQSBatchBytesDefault, SQSMaxAttributes: SQSMaxAttributesDefault,
		KinesisRecordBytes: KinesisRecordBytesDefault, KinesisRequestBytes: KinesisRequestBytesDefault,
	}
}

// SetLimits replaces the limits the fake enforces.
func (s *Server) SetLimits(l Limits) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = l
}

func (s *Server) currentLimits() Limits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limits
}

// over reports whether n breaks limit (0 means none).
func over(n, limit int) bool { return limit > 0 && n > limit }
