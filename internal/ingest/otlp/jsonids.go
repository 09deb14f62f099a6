package otlp

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
)

// OTLP/JSON writes trace and span ids as hex, while protojson reads bytes
// fields as base64. hexIDsToBase64 bridges the two: it scans the JSON text
// and rewrites the string value of every member named traceId, spanId or
// parentSpanId (or trace_id, span_id, parent_span_id) from hex to base64.
// A value that is not hex but is base64 is left alone (some senders use
// base64); a value that is neither becomes a one-byte id, so the span is
// rejected as having an invalid id rather than failing the whole request.
// The input is returned unchanged when there is nothing to rewrite.

var errUnterminated = errors.New("unexpected end of JSON input")

// badID is base64 for a one-byte id: never a valid trace or span id.
const badID = "AA=="

func isIDKey(k []byte) bool {
	switch string(k) {
	case "traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id":
		return true
	}
	return false
}

func hexIDsToBase64(src []byte) ([]byte, error) {
	return rewriteIDs(src, idToBase64)
}

// idToBase64 converts an id's text (JSON-unescaped) to base64; ok=false
// keeps the original.
func idToBase64(dst []byte, id string) ([]byte, bool) {
	if len(id)%2 == 0 && len(id) <= 64 {
		var buf [32]byte
		if n, err := hex.Decode(buf[:], []byte(id)); err == nil {
			return base64.StdEncoding.AppendEncode(dst, buf[:n]), true
		}
	}
	if isBase64(id) {
		return dst, false
	}
	return append(dst, badID...), true
}

// isBase64 reports whether protojson would accept s as bytes: standard or
// URL alphabet, padded or not.
func isBase64(s string) bool {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	_, err := enc.DecodeString(s)
	return err == nil
}

// rewriteIDs calls conv for the string value of every id member and splices
// in what conv appends. Only JSON string syntax is tracked; everything else
// is left for the real parser to judge.
func rewriteIDs(src []byte, conv func(dst []byte, id string) ([]byte, bool)) ([]byte, error) {
	var out []byte // nil until the first rewrite
	last := 0      // src[last:] is not yet copied to out
	for i := 0; i < len(src); i++ {
		if src[i] != '"' {
			continue
		}
		ks, ke, esc, err := scanString(src, i)
		if err != nil {
			return nil, err
		}
		i = ke // at the closing quote
		j := skipSpace(src, ke+1)
		if j >= len(src) || src[j] != ':' {
			continue // a value, not a member name
		}
		key := src[ks:ke]
		if esc {
			key = unescape(src[ks-1 : ke+1])
		}
		if !isIDKey(key) {
			continue
		}
		j = skipSpace(src, j+1)
		if j >= len(src) || src[j] != '"' {
			continue
		}
		vs, ve, vesc, err := scanString(src, j)
		if err != nil {
			return nil, err
		}
		i = ve
		val := src[vs:ve]
		if vesc {
			val = unescape(src[vs-1 : ve+1])
		}
		if out == nil {
			out = make([]byte, 0, len(src))
		}
		mark := len(out)
		out = append(out, src[last:vs]...)
		n, changed := conv(out, string(val))
		if !changed {
			out = out[:mark]
			continue
		}
		out = n
		last = ve
	}
	if out == nil {
		return src, nil
	}
	return append(out, src[last:]...), nil
}

// scanString finds the string starting at the quote src[q]: its contents
// are src[start:end] and src[end] is the closing quote.
func scanString(src []byte, q int) (start, end int, escaped bool, err error) {
	for i := q + 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			escaped = true
			i++
		case '"':
			return q + 1, i, escaped, nil
		}
	}
	return 0, 0, false, errUnterminated
}

func skipSpace(src []byte, i int) int {
	for i < len(src) {
		switch src[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// unescape decodes a quoted JSON string; invalid escapes yield the raw text,
// which the real parser will reject.
func unescape(quoted []byte) []byte {
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return quoted[1 : len(quoted)-1]
	}
	return []byte(s)
}
