package xray

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// Reasons a datagram is rejected before its document is read; they are
// also the "reason" label of tracecomb_xray_segments_rejected_total, beside
// the SegmentError codes.
const (
	ReasonNoHeader  = "no_header"  // no newline: there is no header line
	ReasonBadHeader = "bad_header" // not {"format":"json","version":1}
	ReasonEmptyBody = "empty_body" // nothing after the header line
)

// DatagramError is a datagram the daemon drops before decoding its body.
type DatagramError struct {
	Reason string // one of the Reason constants
}

func (e *DatagramError) Error() string { return "x-ray datagram rejected: " + e.Reason }

// The headers the SDKs send: Go's with spaces, Python's without.
var (
	headerSpaced  = []byte(`{"format": "json", "version": 1}`)
	headerCompact = []byte(`{"format":"json","version":1}`)
)

// SplitDatagram checks the header line of one daemon datagram and returns
// the document after it (aliasing p). The header must be a JSON object whose
// "format" is "json" (any case) and whose "version" is 1, as the X-Ray
// daemon requires; the document must not be blank. It is not decoded here.
func SplitDatagram(p []byte) ([]byte, error) {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return nil, &DatagramError{Reason: ReasonNoHeader}
	}
	header, body := bytes.TrimSpace(p[:i]), p[i+1:]
	if !bytes.Equal(header, headerSpaced) && !bytes.Equal(header, headerCompact) && !validHeader(header) {
		return nil, &DatagramError{Reason: ReasonBadHeader}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, &DatagramError{Reason: ReasonEmptyBody}
	}
	return body, nil
}

func validHeader(h []byte) bool {
	var v struct {
		Format  string          `json:"format"`
		Version json.RawMessage `json:"version"`
	}
	if len(h) == 0 || h[0] != '{' || json.Unmarshal(h, &v) != nil {
		return false
	}
	// version must be the integer 1 (not "1", not 1.0), as the daemon reads it into an int.
	if n, ok := xrayview.Scalar(v.Version); !ok || n.Kind != model.KindInt || n.Int != 1 {
		return false
	}
	return strings.EqualFold(v.Format, "json")
}
