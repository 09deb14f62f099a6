package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Request bodies: the HTTP doors read a body into a pooled buffer with a
// bound on its size, then decompress it (gzip or zstd) into another with a
// bound on the result, which stops one compression bomb, and with an
// Inflater, whose budget bounds the bytes that every decompression in
// flight holds together, which stops many at once.

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// MaxPooledBuffer is the largest buffer PutBuffer keeps for reuse: a rare
// large body must not pin its memory in the pool after the request.
const MaxPooledBuffer = 1 << 20

// GetBuffer returns an empty buffer from a pool; give it back with
// PutBuffer once nothing refers to its bytes.
func GetBuffer() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

// PutBuffer returns b to the pool; a buffer grown past MaxPooledBuffer is
// dropped instead, for the garbage collector to free.
func PutBuffer(b *bytes.Buffer) {
	if b.Cap() <= MaxPooledBuffer {
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

// maxPooledWindow is the largest zstd window a pooled decoder may have
// decoded: a decoder that held a larger history is closed, not kept.
const maxPooledWindow = 8 << 20

// Decompress appends src, compressed with Content-Encoding ce ("gzip",
// "x-gzip" or "zstd"), decompressed to dst, reporting tooBig past limit
// bytes of output. A corrupt stream is an error; decoders are pooled. It
// holds no budget: the doors use an Inflater.
func Decompress(dst *bytes.Buffer, src []byte, ce string, limit int64) (tooBig bool, err error) {
	var in *Inflater
	res, tooBig, err := in.Decompress(context.Background(), dst, src, ce, limit)
	res.Release()
	return tooBig, err
}

// ErrDecompressBusy means the decompression budget had no room for a
// request's body within the wait: retryable (HTTP 503 with Retry-After).
var ErrDecompressBusy = errors.New("too many request bodies are being decompressed at once, retry later")

// DefaultMaxDecompressBytes is the default budget of NewInflater: the
// bytes every decompression in flight may hold together.
const DefaultMaxDecompressBytes = 256 << 20

// DefaultDecompressWait is how long a decompression waits for its share
// of the budget before ErrDecompressBusy.
const DefaultDecompressWait = 2 * time.Second

// Inflater decompresses request bodies within one budget of bytes shared
// by every door that holds it: a decompression reserves its output buffer
// (and a zstd window) before growing it, waiting up to a short time for
// others to finish, then gives up with ErrDecompressBusy. A nil *Inflater
// decompresses without a budget.
type Inflater struct {
	budget *Budget
	wait   time.Duration
	busy   prometheus.Counter
}

// NewInflater returns an Inflater whose decompressions hold at most
// maxBytes together (≤ 0: DefaultMaxDecompressBytes) and wait up to wait
// for room (≤ 0: DefaultDecompressWait). A single body larger than the
// whole budget is decompressed when no other is.
func NewInflater(maxBytes int64, wait time.Duration) *Inflater {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxDecompressBytes
	}
	if wait <= 0 {
		wait = DefaultDecompressWait
	}
	return &Inflater{
		budget: NewBudget(maxBytes),
		wait:   wait,
		busy: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_ingest_decompress_busy_total",
			Help: "Request bodies refused (503) because the decompression budget (--max-decompress-bytes) had no room in time.",
		}),
	}
}

// Register exports the Inflater's metrics on reg.
func (in *Inflater) Register(reg prometheus.Registerer) error {
	if in == nil || reg == nil {
		return nil
	}
	return errors.Join(reg.Register(in.busy), reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tracecomb_ingest_decompress_bytes",
		Help: "Bytes held by request bodies being decompressed.",
	}, func() float64 { return float64(in.budget.Used()) })), reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tracecomb_ingest_decompress_bytes_limit",
		Help: "The bound on tracecomb_ingest_decompress_bytes (--max-decompress-bytes).",
	}, func() float64 { return float64(in.budget.Limit()) })))
}

// Budget returns the Inflater's budget.
func (in *Inflater) Budget() *Budget {
	if in == nil {
		return nil
	}
	return in.budget
}

// Decompress appends src, compressed with Content-Encoding ce ("gzip",
// "x-gzip" or "zstd"), decompressed to dst (empty), reporting tooBig past
// limit bytes of output. The returned reservation holds dst's memory on
// the budget: release it once dst is given back (PutBuffer) or no longer
// referenced. ErrDecompressBusy means the budget had no room in time (the
// request is not at fault); any other error is a corrupt stream.
func (in *Inflater) Decompress(ctx context.Context, dst *bytes.Buffer, src []byte, ce string, limit int64) (res *Reservation, tooBig bool, err error) {
	res = in.Budget().NewReservation()
	g := grower{ctx: ctx, in: in, res: res, dst: dst, max: limit + 1}
	switch ce {
	case "zstd":
		var h zstd.Header
		hint, window := int64(0), int64(0)
		if h.Decode(src) == nil {
			if h.HasFCS {
				hint = int64(min(h.FrameContentSize, uint64(g.max)))
			}
			window = int64(min(h.WindowSize, uint64(limit)))
			if h.SingleSegment && h.HasFCS {
				window = hint
			}
		}
		// The decoder's history is held while decoding.
		if !g.reserve(window) {
			return res, false, ErrDecompressBusy
		}
		pv, _ := zstdPools.LoadOrStore(limit, new(sync.Pool))
		zstdPool := pv.(*sync.Pool)
		d, _ := zstdPool.Get().(*zstd.Decoder)
		if d == nil {
			d, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)))
			if err != nil {
				return res, false, err
			}
		}
		keep := func() {
			if window <= maxPooledWindow {
				_ = d.Reset(nil)
				zstdPool.Put(d)
			} else {
				d.Close()
			}
		}
		if err := d.Reset(bytes.NewReader(src)); err != nil {
			keep()
			return res, false, err
		}
		tooBig, err = g.read(d, hint, len(src))
		keep()
		res.Shrink(window)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
			return res, true, nil
		}
		return res, tooBig, err
	case "gzip", "x-gzip":
		z, _ := gzipPool.Get().(*gzip.Reader)
		if z == nil {
			z = new(gzip.Reader)
		}
		defer gzipPool.Put(z)
		if err := z.Reset(bytes.NewReader(src)); err != nil {
			return res, false, err
		}
		// ISIZE, the last member's size mod 2^32: exact for the usual
		// single-member body, a first guess otherwise.
		var hint int64
		if len(src) >= 18 {
			hint = min(int64(binary.LittleEndian.Uint32(src[len(src)-4:])), g.max)
		}
		tooBig, err = g.read(z, hint, len(src))
		return res, tooBig, err
	}
	return res, false, errors.New("unsupported content-encoding " + ce)
}

// grower reads a decompressor into dst, growing it only by bytes first
// reserved on the budget.
type grower struct {
	ctx context.Context
	in  *Inflater
	res *Reservation
	dst *bytes.Buffer
	max int64 // limit+1: reading this many means too big
}

// minRead is the room kept free so that the read that sees the end of the
// stream needs no growth.
const minRead = 512

// chunkSize is the size of the pooled chunks that take the output past
// what the stream declared.
const chunkSize = 1 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

func (g *grower) reserve(n int64) bool {
	if g.in == nil || n <= 0 {
		return true
	}
	if g.res.Grow(g.ctx, n, g.in.wait) {
		return true
	}
	g.in.busy.Inc()
	return false
}

// read decompresses r into dst: first into one buffer with room for hint
// bytes (the size the stream declares, if any) or a few times the
// compressed size; what comes past it goes into pooled chunks, copied
// into one buffer of the exact size at the end. Every byte is reserved
// before it is allocated, and a bomb stops at max bytes leaving only
// chunks, which the next one reuses: no buffer is grown by doubling, so
// a decompression leaves no more garbage than its result.
func (g *grower) read(r io.Reader, hint int64, compressed int) (tooBig bool, err error) {
	held := int64(g.dst.Cap()) // a pooled buffer's own room
	if !g.reserve(held) {
		return false, ErrDecompressBusy
	}
	g.max += int64(g.dst.Len()) // what dst held already does not count
	first := hint + minRead
	if hint <= 0 {
		first = min(max(4*int64(compressed), 64<<10), g.max+minRead)
	}
	first = min(first, g.max+minRead)
	if held < first { // dst is empty: a new array replaces it
		if !g.reserve(first) {
			return false, ErrDecompressBusy
		}
		*g.dst = *bytes.NewBuffer(append(make([]byte, 0, first), g.dst.Bytes()...))
		g.res.Shrink(held)
		held = first
	}
	// Into dst while it has room.
	for g.dst.Available() > 0 {
		buf := g.dst.AvailableBuffer()
		room := min(int64(cap(buf)), g.max-int64(g.dst.Len()))
		if room <= 0 {
			return true, nil
		}
		n, err := r.Read(buf[:room])
		g.dst.Write(buf[:n])
		if err == io.EOF {
			return int64(g.dst.Len()) >= g.max, nil
		}
		if err != nil {
			return false, err
		}
	}
	// Past it, into chunks.
	var chunks []*[]byte
	last := 0 // bytes in the last chunk
	defer func() {
		for _, c := range chunks {
			chunkPool.Put(c)
		}
		g.res.Shrink(int64(len(chunks)) * chunkSize)
	}()
	total := int64(g.dst.Len())
	for {
		if total >= g.max {
			return true, nil
		}
		if len(chunks) == 0 || last == chunkSize {
			if !g.reserve(chunkSize) {
				return false, ErrDecompressBusy
			}
			chunks = append(chunks, chunkPool.Get().(*[]byte))
			last = 0
		}
		c := *chunks[len(chunks)-1]
		n, err := r.Read(c[last:min(chunkSize, last+int(g.max-total))])
		last += n
		total += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, err
		}
	}
	if total >= g.max {
		return true, nil
	}
	// One buffer of the exact size; dst's old one is left to the collector.
	if !g.reserve(total) {
		return false, ErrDecompressBusy
	}
	out := make([]byte, 0, total)
	out = append(out, g.dst.Bytes()...)
	for i, c := range chunks {
		if i == len(chunks)-1 {
			out = append(out, (*c)[:last]...)
		} else {
			out = append(out, *c...)
		}
	}
	*g.dst = *bytes.NewBuffer(out)
	g.res.Shrink(held)
	return false, nil
}

// BodyProblem is why ReadBody failed; each door answers it with its own
// protocol's status and message.
type BodyProblem int

// The ways a body can fail.
const (
	// BodyTooLarge: more than the limit as sent.
	BodyTooLarge BodyProblem = iota + 1
	// BodyUnreadable: reading the request failed.
	BodyUnreadable
	// BodyInflatedTooLarge: more than the limit once decompressed.
	BodyInflatedTooLarge
	// BodyInflateBusy: the decompression budget had no room in time (the
	// request is not at fault: retry).
	BodyInflateBusy
	// BodyCorrupt: the compressed stream does not decompress.
	BodyCorrupt
)

// BodyError is a failed ReadBody: the problem and its cause (nil for the
// size limits).
type BodyError struct {
	Problem BodyProblem
	Err     error
}

func (e *BodyError) Error() string {
	if e.Err == nil {
		return "request body over its size limit"
	}
	return e.Err.Error()
}

func (e *BodyError) Unwrap() error { return e.Err }

// Body is a request body read (and decompressed) into pooled buffers.
// Bytes aliases them: Free gives them back (and the decompression budget
// they hold) once nothing refers to Bytes; Free may be called again.
type Body struct {
	Bytes    []byte
	raw      *bytes.Buffer
	plain    *bytes.Buffer
	inflated *Reservation
}

// Free gives the body's buffers and budget back.
func (b *Body) Free() {
	if b.raw != nil {
		PutBuffer(b.raw)
		b.raw = nil
	}
	if b.plain != nil {
		PutBuffer(b.plain)
		b.plain = nil
	}
	b.inflated.Release()
	b.inflated = nil
	b.Bytes = nil
}

// ReadBody reads r (of declared length contentLength, -1 when unknown)
// with at most limit bytes as sent, then decompresses it when ce is gzip,
// x-gzip or zstd to at most maxInflated bytes through in. The caller
// checks ce is one its door takes. A failure is a *BodyError; the body is
// freed then. Call Free on success (a Body is a value: keep one variable
// and free it once).
func ReadBody(ctx context.Context, r io.Reader, contentLength, limit int64, ce string, in *Inflater, maxInflated int64) (Body, error) {
	b := Body{raw: GetBuffer()}
	if contentLength > 0 {
		b.raw.Grow(int(min(contentLength, limit)))
	}
	if tooBig, err := ReadLimited(b.raw, r, limit); tooBig {
		b.Free()
		return Body{}, &BodyError{Problem: BodyTooLarge}
	} else if err != nil {
		b.Free()
		return Body{}, &BodyError{Problem: BodyUnreadable, Err: err}
	}
	b.Bytes = b.raw.Bytes()
	if ce != "gzip" && ce != "x-gzip" && ce != "zstd" {
		return b, nil
	}
	b.plain = GetBuffer()
	var tooBig bool
	var err error
	b.inflated, tooBig, err = in.Decompress(ctx, b.plain, b.Bytes, ce, maxInflated)
	switch {
	case errors.Is(err, ErrDecompressBusy):
		b.Free()
		return Body{}, &BodyError{Problem: BodyInflateBusy, Err: err}
	case tooBig:
		b.Free()
		return Body{}, &BodyError{Problem: BodyInflatedTooLarge}
	case err != nil:
		b.Free()
		return Body{}, &BodyError{Problem: BodyCorrupt, Err: err}
	}
	b.Bytes = b.plain.Bytes()
	return b, nil
}
