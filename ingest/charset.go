package ingest

import (
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"
)

// utf8Body returns body as UTF-8 text according to the charset of contentType:
// no charset or UTF-8 must already be valid UTF-8 (an error otherwise: the bytes
// are never replaced); ISO-8859-1 (Latin-1) is decoded faithfully, byte for code
// point; US-ASCII must be 7-bit. Another charset is errUnsupportedCharset.
func utf8Body(contentType string, body []byte) ([]byte, error) {
	_, params, _ := mime.ParseMediaType(contentType)
	switch cs := strings.ToLower(strings.TrimSpace(params["charset"])); cs {
	case "", "utf-8", "utf8":
		if !utf8.Valid(body) {
			return nil, fmt.Errorf("the body is not valid UTF-8 (byte %d); send UTF-8 or declare its charset", invalidAt(body))
		}
		return body, nil
	case "us-ascii", "ascii":
		for i, b := range body {
			if b >= utf8.RuneSelf {
				return nil, fmt.Errorf("the body is not US-ASCII (byte %d)", i)
			}
		}
		return body, nil
	case "iso-8859-1", "iso_8859-1", "latin1", "l1", "iso-ir-100", "cp819", "ibm819", "csisolatin1":
		out := make([]byte, 0, len(body)+len(body)/8)
		for _, b := range body {
			out = utf8.AppendRune(out, rune(b))
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w %q: send UTF-8, or declare ISO-8859-1 or US-ASCII", errUnsupportedCharset, cs)
	}
}

// errUnsupportedCharset is a charset the front door does not decode.
var errUnsupportedCharset = errors.New("unsupported charset")

// invalidAt returns the offset of the first byte that is not valid UTF-8.
func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}
