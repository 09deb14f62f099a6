package ingest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(b) //nolint:errcheck // bytes.Buffer
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	t.Helper()
	e, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	return e.EncodeAll(b, nil)
}

func TestDecompress(t *testing.T) {
	plain := bytes.Repeat([]byte("tracecomb "), 1000) // 10,000 bytes
	for _, tc := range []struct {
		name, ce   string
		src        []byte
		limit      int64
		wantTooBig bool
		wantErr    bool
		want       []byte
	}{
		{name: "gzip", ce: "gzip", src: gzipped(t, plain), limit: 10_000, want: plain},
		{name: "x-gzip", ce: "x-gzip", src: gzipped(t, plain), limit: 10_000, want: plain},
		{name: "zstd", ce: "zstd", src: zstded(t, plain), limit: 10_000, want: plain},
		{name: "gzip over the limit", ce: "gzip", src: gzipped(t, plain), limit: 9_999, wantTooBig: true},
		{name: "zstd over the limit", ce: "zstd", src: zstded(t, plain), limit: 9_999, wantTooBig: true},
		{name: "gzip corrupt", ce: "gzip", src: []byte("not gzip at all"), limit: 10_000, wantErr: true},
		{name: "gzip truncated", ce: "gzip", src: gzipped(t, plain)[:40], limit: 10_000, wantErr: true},
		{name: "zstd corrupt", ce: "zstd", src: []byte("not zstd at all"), limit: 10_000, wantErr: true},
		{name: "unknown encoding", ce: "br", src: plain, limit: 10_000, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Twice, so the second call runs on a pooled decoder.
			for range 2 {
				dst := GetBuffer()
				tooBig, err := Decompress(dst, tc.src, tc.ce, tc.limit)
				if tooBig != tc.wantTooBig || (err != nil) != tc.wantErr {
					t.Fatalf("tooBig=%v err=%v, want tooBig=%v err=%v", tooBig, err, tc.wantTooBig, tc.wantErr)
				}
				if tc.want != nil && !bytes.Equal(dst.Bytes(), tc.want) {
					t.Fatalf("got %d bytes, want %d", dst.Len(), len(tc.want))
				}
				PutBuffer(dst)
			}
		})
	}
}

// A decoder pooled for a small limit must not refuse a larger one.
func TestDecompressZstdLimitsApart(t *testing.T) {
	plain := bytes.Repeat([]byte("x"), 1<<20)
	src := zstded(t, plain)
	if tooBig, _ := Decompress(new(bytes.Buffer), src, "zstd", 1000); !tooBig {
		t.Fatal("1 MiB fit in 1000 bytes")
	}
	dst := new(bytes.Buffer)
	if tooBig, err := Decompress(dst, src, "zstd", 2<<20); tooBig || err != nil || dst.Len() != len(plain) {
		t.Fatalf("tooBig=%v err=%v len=%d", tooBig, err, dst.Len())
	}
}

func TestReadLimited(t *testing.T) {
	var buf bytes.Buffer
	if tooBig, err := ReadLimited(&buf, strings.NewReader("12345"), 5); tooBig || err != nil || buf.String() != "12345" {
		t.Fatalf("tooBig=%v err=%v %q", tooBig, err, buf.String())
	}
	buf.Reset()
	if tooBig, _ := ReadLimited(&buf, strings.NewReader("123456"), 5); !tooBig {
		t.Fatal("6 bytes fit in 5")
	}
	// An http.MaxBytesReader's own limit counts as too big.
	rec := httptest.NewRecorder()
	r := http.MaxBytesReader(rec, io.NopCloser(strings.NewReader("123456")), 3)
	buf.Reset()
	if tooBig, _ := ReadLimited(&buf, r, 100); !tooBig {
		t.Fatal("MaxBytesReader's limit not reported")
	}
}

// TestReadBody: a body as sent or decompressed, and each way it fails
// with the problem the doors answer, the buffers given back either way.
func TestReadBody(t *testing.T) {
	data := []byte(strings.Repeat("span ", 100)) // 500 bytes
	cases := []struct {
		name    string
		body    []byte
		ce      string
		limit   int64
		problem BodyProblem
	}{
		{"plain", data, "", 1000, 0},
		{"gzip", gzipped(t, data), "gzip", 1000, 0},
		{"x-gzip", gzipped(t, data), "x-gzip", 1000, 0},
		{"zstd", zstded(t, data), "zstd", 1000, 0},
		{"too large as sent", data, "", 499, BodyTooLarge},
		{"too large decompressed", gzipped(t, bytes.Repeat(data, 10)), "gzip", 1000, BodyInflatedTooLarge}, // 5,000 bytes
		{"not gzip", data, "gzip", 1000, BodyCorrupt},
	}
	in := NewInflater(0, 0)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// zstd's smallest window is 1 KiB: the decompressed limit is 4 KiB.
			b, err := ReadBody(t.Context(), bytes.NewReader(c.body), int64(len(c.body)), c.limit, c.ce, in, 4096)
			if c.problem == 0 {
				if err != nil {
					t.Fatalf("ReadBody: %v; want the %d bytes sent", err, len(data))
				}
				if !bytes.Equal(b.Bytes, data) {
					t.Fatalf("ReadBody: %d bytes; want the %d bytes sent", len(b.Bytes), len(data))
				}
				b.Free()
				b.Free() // again: nothing happens
				if b.Bytes != nil {
					t.Error("Bytes after Free: want nil")
				}
				return
			}
			var be *BodyError
			if !errors.As(err, &be) || be.Problem != c.problem || b.Bytes != nil {
				t.Fatalf("ReadBody: %v (%T), %v; want problem %d", err, err, b, c.problem)
			}
		})
	}
	if held := in.Budget().Used(); held != 0 {
		t.Errorf("decompression budget held after every body: %d, want 0", held)
	}
}
