package upstream

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"time"
)

// On disk a queue segment is a sequence of frames, each
//
//	len   uint32 little endian: the payload's length
//	crc   uint32 little endian: CRC-32C (Castagnoli) of the payload
//	payload
//
// and a payload is one record:
//
//	version  byte: recordVersion
//	enqueued int64 little endian: Unix nanoseconds when it was queued
//	key      uvarint length, then the bytes: the Honeycomb dataset (empty for X-Ray)
//	body     the rest: one Honeycomb batch element or one X-Ray segment document
const (
	frameHeader   = 8
	recordVersion = 1
	// maxRecord bounds a frame's payload: a length above it is corruption
	// (no target takes an event near it).
	maxRecord = 4 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt is a frame or record that does not decode: a torn write at
// the end of a segment, or damage.
var errCorrupt = errors.New("upstream: corrupt queue record")

// Record is one queued event as its target will get it.
type Record struct {
	Enqueued time.Time
	Key      string // the Honeycomb dataset; empty for X-Ray
	Body     []byte
}

// appendFrame appends rec as one frame to dst.
func appendFrame(dst []byte, enqueued int64, key string, body []byte) []byte {
	start := len(dst)
	dst = append(dst, make([]byte, frameHeader)...)
	p := len(dst)
	dst = append(dst, recordVersion)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(enqueued))
	dst = binary.AppendUvarint(dst, uint64(len(key)))
	dst = append(dst, key...)
	dst = append(dst, body...)
	payload := dst[p:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// readFrame reads the frame at the start of b: its payload and the
// frame's whole length. A frame cut short or failing its checksum is
// errCorrupt.
func readFrame(b []byte) (payload []byte, n int, err error) {
	if len(b) < frameHeader {
		return nil, 0, errCorrupt
	}
	l := binary.LittleEndian.Uint32(b)
	if l > maxRecord || uint64(len(b)-frameHeader) < uint64(l) {
		return nil, 0, errCorrupt
	}
	payload = b[frameHeader : frameHeader+int(l)]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, errCorrupt
	}
	return payload, frameHeader + int(l), nil
}

// DecodeRecord decodes a frame's payload. Body aliases p.
func DecodeRecord(p []byte) (Record, error) { return decodeRecord(p, nil) }

// decodeRecord is DecodeRecord reusing the key of the last of prev when
// it is the same.
func decodeRecord(p []byte, prev []Item) (Record, error) {
	if len(p) < 9 || p[0] != recordVersion {
		return Record{}, errCorrupt
	}
	ns := int64(binary.LittleEndian.Uint64(p[1:]))
	rest := p[9:]
	kl, w := binary.Uvarint(rest)
	if w <= 0 || kl > uint64(len(rest)-w) {
		return Record{}, errCorrupt
	}
	rest = rest[w:]
	var key string
	if n := len(prev); n > 0 && prev[n-1].Key == string(rest[:kl]) {
		key = prev[n-1].Key
	} else {
		key = string(rest[:kl])
	}
	return Record{Enqueued: time.Unix(0, ns), Key: key, Body: rest[kl:]}, nil
}
