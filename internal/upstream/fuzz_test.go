package upstream

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadFrame: the on-disk decoder never panics, never reads past its
// input, and what it accepts encodes back to the same bytes.
func FuzzReadFrame(f *testing.F) {
	f.Add(appendFrame(nil, 1_700_000_000_000_000_000, "dataset", []byte(`{"data":{"a":1}}`)))
	f.Add(appendFrame(nil, 0, "", []byte(`{"id":"70de5b6f19ff9a0a"}`)))
	f.Add(appendFrame(appendFrame(nil, 5, "x", nil), 6, "y", []byte("z")))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		off := 0
		for off < len(b) {
			p, n, err := readFrame(b[off:])
			if err != nil {
				break
			}
			if n <= frameHeader-1 || off+n > len(b) {
				t.Fatalf("frame of %d bytes at %d in %d", n, off, len(b))
			}
			rec, err := DecodeRecord(p)
			if err == nil {
				again := appendFrame(nil, rec.Enqueued.UnixNano(), rec.Key, rec.Body)
				if !bytes.Equal(again, b[off:off+n]) {
					// Only a non-minimal uvarint may differ.
					if _, _, err := readFrame(again); err != nil {
						t.Fatalf("re-encoded record does not decode: %v", err)
					}
				}
			}
			off += n
		}
	})
}

// FuzzOpenQueue: a queue opened on any segment bytes never panics, and
// reads only records that decode.
func FuzzOpenQueue(f *testing.F) {
	f.Add(appendFrame(appendFrame(nil, 1, "a", []byte("b")), 2, "c", []byte("d")))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, seg []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "00000000000000000001.seg"), seg, 0o600); err != nil {
			t.Fatal(err)
		}
		q, _, err := OpenQueue(dir, 4<<20)
		if err != nil {
			t.Fatal(err)
		}
		defer q.Close()
		for range 1000 {
			items, err := q.Peek(100, 1<<20)
			if err != nil || len(items) == 0 {
				break
			}
			if err := q.Ack(items[len(items)-1].End, len(items)); err != nil {
				t.Fatal(err)
			}
		}
	})
}
