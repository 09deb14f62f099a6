package ingest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Request bodies: the HTTP doors read a body into a pooled buffer with a
// bound on its size, then decompress it (gzip or zstd) into another with a
// bound on the result, which stops compression bombs.

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBuffer keeps rare huge bodies from pinning memory in the pool.
const maxPooledBuffer = 4 << 20

// GetBuffer returns an empty buffer from a pool; give it back with
// PutBuffer once nothing refers to its bytes.
func GetBuffer() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

// PutBuffer returns b to the pool (buffers grown past 4 MiB are dropped).
func PutBuffer(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		b.Reset()
		bufPool.Put(b)
	}
}

// ReadLimited reads r into buf, reporting tooBig once more than limit
// bytes come (or when r is an http.MaxBytesReader that hit its own limit).
func ReadLimited(buf *bytes.Buffer, r io.Reader, limit int64) (tooBig bool, err error) {
	n, err := buf.ReadFrom(io.LimitReader(r, limit+1))
	if n > limit {
		return true, nil
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return true, nil
	}
	return false, err
}

var (
	gzipPool  sync.Pool // *gzip.Reader
	zstdPools sync.Map  // limit (int64) → *sync.Pool of *zstd.Decoder made with that memory bound
)

// Decompress appends src, compressed with Content-Encoding ce ("gzip",
// "x-gzip" or "zstd"), decompressed to dst, reporting tooBig past limit
// bytes of output. A corrupt stream is an error; decoders are pooled.
func Decompress(dst *bytes.Buffer, src []byte, ce string, limit int64) (tooBig bool, err error) {
	switch ce {
	case "zstd":
		pv, _ := zstdPools.LoadOrStore(limit, new(sync.Pool))
		zstdPool := pv.(*sync.Pool)
		d, _ := zstdPool.Get().(*zstd.Decoder)
		if d == nil {
			d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)))
			if err != nil {
				return false, err
			}
		}
		if err := d.Reset(bytes.NewReader(src)); err != nil {
			zstdPool.Put(d)
			return false, err
		}
		tooBig, err = ReadLimited(dst, d, limit)
		_ = d.Reset(nil)
		zstdPool.Put(d)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return true, nil
		}
		return tooBig, err
	case "gzip", "x-gzip":
		z, _ := gzipPool.Get().(*gzip.Reader)
		if z == nil {
			z = new(gzip.Reader)
		}
		defer gzipPool.Put(z)
		if err := z.Reset(bytes.NewReader(src)); err != nil {
			return false, err
		}
		return ReadLimited(dst, z, limit)
	}
	return false, errors.New("unsupported content-encoding " + ce)
}
