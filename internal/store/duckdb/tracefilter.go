package duckdb

// traceFilter is a Bloom filter of the trace ids an environment's trace
// index holds (tables and pending rows): what X-Ray's duplicate look-up
// (storedTraces) asks before it queries the index tables, so that a Write
// of new traces, what the X-Ray daemon mostly brings, runs no statement
// for them. It is filled from the index tables on first use and then by
// every committed Write's index rows; reset() drops it with the pending
// rows whenever the database is (re)opened, and a failed Write drops it,
// so it always holds every trace id of the index (no false negatives);
// ids of deleted events only cost a query. It takes 16 bits per trace
// (0.24% false positives) in segments of traceFilterSegment traces, and
// stops being used past traceFilterMax traces (32 MiB).
type traceFilter struct {
	segs [][]uint64
	n    int  // traces added
	off  bool // past traceFilterMax: not used
}

const (
	traceFilterSegment = 1 << 18 // traces per segment (512 KiB)
	traceFilterBits    = 16 * traceFilterSegment
	traceFilterMax     = 1 << 24
)

func traceFilterHash(tk traceKey) (uint64, uint64) {
	h := uint64(tk.hi)*0x9e3779b97f4a7c15 ^ uint64(tk.lo)
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	h *= 0x94d049bb133111eb
	h ^= h >> 32
	return h, h>>33 | 1
}

func (f *traceFilter) add(tk traceKey) {
	if f.off {
		return
	}
	if f.n >= traceFilterMax {
		f.off, f.segs = true, nil
		return
	}
	if f.n%traceFilterSegment == 0 {
		f.segs = append(f.segs, make([]uint64, traceFilterBits/64))
	}
	f.n++
	seg := f.segs[len(f.segs)-1]
	h1, h2 := traceFilterHash(tk)
	for i := range uint64(4) {
		b := (h1 + i*h2) % traceFilterBits
		seg[b/64] |= 1 << (b % 64)
	}
}

// mayHave reports whether the filter may hold tk (always true when off).
func (f *traceFilter) mayHave(tk traceKey) bool {
	if f.off {
		return true
	}
	h1, h2 := traceFilterHash(tk)
	for _, seg := range f.segs {
		in := true
		for i := range uint64(4) {
			b := (h1 + i*h2) % traceFilterBits
			if seg[b/64]&(1<<(b%64)) == 0 {
				in = false
				break
			}
		}
		if in {
			return true
		}
	}
	return false
}
