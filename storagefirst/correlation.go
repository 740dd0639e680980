package storagefirst

// MaxCorrelationIDLength is the longest correlation ID a client may send, in
// bytes; a longer one is replaced (see CorrelationID). It is below
// MaxTypeLength, so a kept ID always fits an Envelope.
const MaxCorrelationIDLength = 255

// CorrelationID is the correlation ID of a request whose correlation header is
// client: client itself when it is 1..MaxCorrelationIDLength bytes, otherwise a
// new ID (NewID). Every HTTP surface of the module (ingest, workflow, the
// examples) works the ID out with it, once per request, and answers it on every
// path, errors included.
func CorrelationID(client string) string {
	if client == "" || len(client) > MaxCorrelationIDLength {
		return NewID()
	}
	return client
}
