package problem

import "strings"

// internal are the error-chain segments that speak of this module's insides, not
// of the request: package prefixes ("ingest: ") and wrapper sentinels.
var internal = map[string]bool{"storagefirst": true, "ingest": true, "workflow": true, "dlq": true,
	"pgstore": true, "sqlitestore": true, "invalid envelope": true, "invalid input": true}

// Detail is err's message in the client's terms, for a problem's Detail: the
// segments of the error chain that name this module's packages or wrapper
// sentinels are left out, e.g. "storagefirst: invalid envelope: ingest:
// validation failed: username is required" becomes "validation failed: username
// is required". Log err itself.
func Detail(err error) string {
	if err == nil {
		return ""
	}
	parts := strings.Split(err.Error(), ": ")
	kept := parts[:0]
	for _, p := range parts {
		if !internal[p] {
			kept = append(kept, p)
		}
	}
	if len(kept) == 0 {
		return "the request is not valid"
	}
	return strings.Join(kept, ": ")
}
