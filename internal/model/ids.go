package model

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// TraceID is a 16-byte trace identifier, the W3C and OTLP form. An X-Ray
// trace id "1-5759e988-bd862e3fe1be46a994272793" is the same 16 bytes
// 5759e988bd862e3fe1be46a994272793, so OTel and X-Ray traces that share an id
// are one trace.
type TraceID [16]byte

// SpanID is an 8-byte span identifier; X-Ray segment ids are the same 8 bytes
// written as 16 hex digits.
type SpanID [8]byte

// ErrBadID reports an identifier that is not valid hex of the right length.
var ErrBadID = errors.New("invalid id")

// IsZero reports whether all bytes are zero (an invalid id per W3C).
func (t TraceID) IsZero() bool { return t == TraceID{} }

// IsZero reports whether all bytes are zero (an invalid id per W3C).
func (s SpanID) IsZero() bool { return s == SpanID{} }

// String returns the lowercase hex form (32 digits).
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// String returns the lowercase hex form (16 digits).
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// HoneycombString returns the id as Honeycomb writes it in trace.trace_id:
// a 16-byte id whose first 8 bytes are zero (a 64-bit id carried in a 128-bit
// field) is written as 16 hex digits, any other as 32.
func (t TraceID) HoneycombString() string {
	if [8]byte(t[:8]) == [8]byte{} {
		return hex.EncodeToString(t[8:])
	}
	return t.String()
}

// XRay returns the X-Ray form "1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy".
func (t TraceID) XRay() string {
	var b [35]byte
	b[0], b[1], b[10] = '1', '-', '-'
	hex.Encode(b[2:10], t[:4])
	hex.Encode(b[11:], t[4:])
	return string(b[:])
}

// ParseTraceID accepts 32 hex digits (W3C/OTLP), 16 hex digits (a 64-bit id,
// left-padded with zeros as Honeycomb does) or the X-Ray form
// "1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy". Hex is case-insensitive.
func ParseTraceID(s string) (TraceID, error) {
	var t TraceID
	switch len(s) {
	case 32:
		if _, err := hex.Decode(t[:], []byte(s)); err != nil {
			return TraceID{}, fmt.Errorf("%w: trace id %q: not hex", ErrBadID, s)
		}
	case 16:
		if _, err := hex.Decode(t[8:], []byte(s)); err != nil {
			return TraceID{}, fmt.Errorf("%w: trace id %q: not hex", ErrBadID, s)
		}
	case 35:
		return ParseXRayTraceID(s)
	default:
		return TraceID{}, fmt.Errorf("%w: trace id %q: want 32 hex digits or 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy", ErrBadID, s)
	}
	return t, nil
}

// ParseXRayTraceID parses "1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy".
func ParseXRayTraceID(s string) (TraceID, error) {
	var t TraceID
	if len(s) != 35 || s[0] != '1' || s[1] != '-' || s[10] != '-' {
		return TraceID{}, fmt.Errorf("%w: X-Ray trace id %q: want 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy", ErrBadID, s)
	}
	if _, err := hex.Decode(t[:4], []byte(s[2:10])); err != nil {
		return TraceID{}, fmt.Errorf("%w: X-Ray trace id %q: not hex", ErrBadID, s)
	}
	if _, err := hex.Decode(t[4:], []byte(s[11:])); err != nil {
		return TraceID{}, fmt.Errorf("%w: X-Ray trace id %q: not hex", ErrBadID, s)
	}
	return t, nil
}

// ParseSpanID accepts 16 hex digits, case-insensitive.
func ParseSpanID(s string) (SpanID, error) {
	var id SpanID
	if len(s) != 16 {
		return SpanID{}, fmt.Errorf("%w: span id %q: want 16 hex digits", ErrBadID, s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return SpanID{}, fmt.Errorf("%w: span id %q: not hex", ErrBadID, s)
	}
	return id, nil
}
