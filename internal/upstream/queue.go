package upstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Pos is a place in a queue: a segment and a byte offset in it.
type Pos struct {
	Seg uint64
	Off int64
}

func (p Pos) before(q Pos) bool { return p.Seg < q.Seg || p.Seg == q.Seg && p.Off < q.Off }

// Item is one record read from a queue, with the position just past it.
type Item struct {
	Record
	End Pos
}

type segment struct {
	id      uint64
	size    int64 // valid bytes
	records int
}

// Queue is a durable FIFO of records in a directory: segment files of
// frames (record.go) appended with one write per call and a group fsync
// (every Append returns once its bytes are on disk; Appends that arrive
// while an fsync runs share the next one), and a cursor file that says
// how far the target has acknowledged and how far the batch being sent
// reaches. Reading does not consume: Ack does, and deletes the segments
// it passes. Its size is bounded by maxBytes: an Append that would pass
// it first deletes the oldest segments (their records are lost and
// counted), never the one being written.
type Queue struct {
	dir      string
	maxBytes int64
	segBytes int64

	mu          sync.Mutex
	segs        []*segment // oldest first; the last is being written
	active      *os.File
	head        Pos // acknowledged up to here
	headRecords int // records of segs[0] before head.Off
	total       int64
	records     int
	inflight    Pos
	redeliverTo Pos // the batch being sent when the last process stopped
	cursor      *os.File
	writeSeq    uint64
	closed      bool

	syncMu    sync.Mutex // one fsync at a time; taken before mu
	syncedSeq uint64

	notify chan struct{}
}

const cursorFile = "cursor"

// segmentBytes is the size at which a segment is closed and a new one
// begun: an eighth of the queue's bound, between 64 KiB and 64 MiB, so
// that dropping the oldest segment frees a bounded share of it.
func segmentBytes(maxBytes int64) int64 {
	return min(max(maxBytes/8, 64<<10), 64<<20)
}

// OpenQueue opens (creating it if needed) the queue in dir. A segment
// whose end does not decode (a write cut by a crash before its fsync, so
// never acknowledged to a client) is cut there; corrupt reports how many
// damaged places were found.
func OpenQueue(dir string, maxBytes int64) (q *Queue, corrupt int, err error) {
	if maxBytes <= 0 {
		return nil, 0, errors.New("upstream: the queue's byte bound must be positive")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, err
	}
	q = &Queue{dir: dir, maxBytes: maxBytes, segBytes: segmentBytes(maxBytes), notify: make(chan struct{}, 1)}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	var ids []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	scannedHeadRecs := 0
	head, inflight, cursorOK := readCursor(filepath.Join(dir, cursorFile))
	for i, id := range ids {
		s, bad, headRecs, err := scanSegment(q.segPath(id), head, id)
		if err != nil {
			return nil, 0, err
		}
		if bad {
			corrupt++
			if i == len(ids)-1 {
				if err := os.Truncate(q.segPath(id), s.size); err != nil {
					return nil, 0, err
				}
			}
		}
		if id == head.Seg {
			scannedHeadRecs = headRecs
		}
		q.segs = append(q.segs, s)
		q.total += s.size
		q.records += s.records
	}
	if len(q.segs) == 0 {
		q.segs = []*segment{{id: max(head.Seg, 1)}}
		if err := q.createSegment(q.segs[0].id); err != nil {
			return nil, 0, err
		}
	}
	first := q.segs[0]
	switch {
	case !cursorOK || head.Seg < first.id:
		q.head = Pos{Seg: first.id}
	case head.Seg > q.segs[len(q.segs)-1].id:
		// Everything there was is acknowledged.
		for len(q.segs) > 1 {
			q.dropFile(q.segs[0])
		}
		q.head = Pos{Seg: q.segs[0].id, Off: q.segs[0].size}
		q.headRecords = q.segs[0].records
	default:
		// Segments before the head's were acknowledged but not yet
		// deleted when the process stopped.
		for len(q.segs) > 1 && q.segs[0].id < head.Seg {
			q.dropFile(q.segs[0])
		}
		q.head, q.headRecords = head, scannedHeadRecs
		if q.head.Off > q.segs[0].size || q.segs[0].id != head.Seg {
			q.head = Pos{Seg: q.segs[0].id}
			q.headRecords = 0
		}
	}
	if cursorOK && q.head.before(inflight) {
		q.redeliverTo = inflight
	}
	q.inflight = q.head
	last := q.segs[len(q.segs)-1]
	q.active, err = os.OpenFile(q.segPath(last.id), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, 0, err
	}
	q.cursor, err = os.OpenFile(filepath.Join(dir, cursorFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		q.active.Close()
		return nil, 0, err
	}
	return q, corrupt, q.writeCursor()
}

func (q *Queue) segPath(id uint64) string {
	return filepath.Join(q.dir, fmt.Sprintf("%020d.seg", id))
}

// scanSegment reads a segment's frames: its valid size and records,
// whether something after them did not decode, and how many records lie
// before head when head is in it.
func scanSegment(path string, head Pos, id uint64) (s *segment, bad bool, headRecs int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, 0, err
	}
	s = &segment{id: id}
	off := 0
	for off < len(b) {
		p, n, err := readFrame(b[off:])
		if err == nil {
			_, err = DecodeRecord(p)
		}
		if err != nil {
			bad = true
			break
		}
		off += n
		s.records++
		if head.Seg == id && int64(off) <= head.Off {
			headRecs++
		}
	}
	s.size = int64(off)
	return s, bad, headRecs, nil
}

// readCursor reads the cursor file: the acknowledged position and the end
// of the batch that was being sent.
func readCursor(path string) (head, inflight Pos, ok bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 36 {
		return Pos{}, Pos{}, false
	}
	if crc32.Checksum(b[:32], castagnoli) != binary.LittleEndian.Uint32(b[32:]) {
		return Pos{}, Pos{}, false
	}
	head = Pos{Seg: binary.LittleEndian.Uint64(b), Off: int64(binary.LittleEndian.Uint64(b[8:]))}
	inflight = Pos{Seg: binary.LittleEndian.Uint64(b[16:]), Off: int64(binary.LittleEndian.Uint64(b[24:]))}
	return head, inflight, head.Off >= 0 && inflight.Off >= 0
}

// writeCursor records head and inflight (mu held). It is not fsynced: a
// process killed keeps what it wrote; after a machine crash the cursor
// may be older, and records are sent again (at least once).
func (q *Queue) writeCursor() error {
	var b [36]byte
	binary.LittleEndian.PutUint64(b[0:], q.head.Seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(q.head.Off))
	binary.LittleEndian.PutUint64(b[16:], q.inflight.Seg)
	binary.LittleEndian.PutUint64(b[24:], uint64(q.inflight.Off))
	binary.LittleEndian.PutUint32(b[32:], crc32.Checksum(b[:32], castagnoli))
	_, err := q.cursor.WriteAt(b[:], 0)
	return err
}

func (q *Queue) createSegment(id uint64) error {
	f, err := os.OpenFile(q.segPath(id), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(q.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// dropFile removes the oldest segment (mu held) and returns how many of
// its records were not acknowledged.
func (q *Queue) dropFile(s *segment) int {
	lost := s.records
	if s.id == q.head.Seg {
		lost -= q.headRecords
	}
	_ = os.Remove(q.segPath(s.id))
	q.segs = q.segs[1:]
	q.total -= s.size
	q.records -= s.records
	if q.head.Seg <= s.id {
		q.head = Pos{Seg: q.segs[0].id}
		q.headRecords = 0
	}
	return lost
}

// ErrTooLarge is an Append larger than the queue may hold.
var ErrTooLarge = errors.New("upstream: records larger than half the queue's bound")

// ErrClosed is an Append to a closed queue.
var ErrClosed = errors.New("upstream: queue closed")

// Append adds frames (n records, built with appendFrame) and returns once
// they are on disk, with the number of older records dropped to make room.
func (q *Queue) Append(frames []byte, n int) (dropped int, err error) {
	if int64(len(frames)) > q.maxBytes/2 {
		return 0, ErrTooLarge
	}
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, ErrClosed
	}
	for q.queuedBytes()+int64(len(frames)) > q.maxBytes && len(q.segs) > 1 {
		dropped += q.dropFile(q.segs[0])
	}
	last := q.segs[len(q.segs)-1]
	if _, err := q.active.WriteAt(frames, last.size); err != nil {
		_ = q.active.Truncate(last.size)
		q.mu.Unlock()
		return dropped, err
	}
	last.size += int64(len(frames))
	last.records += n
	q.total += int64(len(frames))
	q.records += n
	q.writeSeq++
	seq := q.writeSeq
	rotate := last.size >= q.segBytes
	q.mu.Unlock()

	if err := q.syncTo(seq); err != nil {
		return dropped, err
	}
	if rotate {
		if err := q.rotate(); err != nil {
			return dropped, err
		}
	}
	select {
	case q.notify <- struct{}{}:
	default:
	}
	return dropped, nil
}

// syncTo returns once the writes up to seq are fsynced; one fsync covers
// every write made before it started.
func (q *Queue) syncTo(seq uint64) error {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	if q.syncedSeq >= seq {
		return nil
	}
	q.mu.Lock()
	target, f := q.writeSeq, q.active
	q.mu.Unlock()
	if err := f.Sync(); err != nil {
		return err
	}
	q.syncedSeq = target
	return nil
}

// rotate closes the segment being written once it is full and begins the
// next.
func (q *Queue) rotate() error {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	last := q.segs[len(q.segs)-1]
	if last.size < q.segBytes || q.closed {
		return nil
	}
	if err := q.active.Sync(); err != nil {
		return err
	}
	q.syncedSeq = q.writeSeq
	id := last.id + 1
	if err := q.createSegment(id); err != nil {
		return err
	}
	f, err := os.OpenFile(q.segPath(id), os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_ = q.active.Close()
	q.active = f
	q.segs = append(q.segs, &segment{id: id})
	return nil
}

// queuedBytes is what is not acknowledged (mu held).
func (q *Queue) queuedBytes() int64 {
	if q.head.Seg == q.segs[0].id {
		return q.total - q.head.Off
	}
	return q.total
}

// Stats returns the bytes and records not yet acknowledged.
func (q *Queue) Stats() (bytes int64, records int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queuedBytes(), q.records - q.headRecords
}

// Notify is signalled after an Append.
func (q *Queue) Notify() <-chan struct{} { return q.notify }

// RedeliverTo is the end of the batch that was being sent when the queue
// was last closed or its process died: the target may have received the
// records before it, which are sent again.
func (q *Queue) RedeliverTo() Pos {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.redeliverTo
}

// Peek reads up to maxRecords records and about maxBytes bytes (at least
// one record) from the head, without consuming them. A batch never spans
// two segments. A corrupt frame returns the records before it and
// errCorrupt with the position past the damage (the segment's end).
func (q *Queue) Peek(maxRecords, maxBytes int) ([]Item, error) {
	items, _, err := q.PeekInto(nil, nil, maxRecords, maxBytes)
	return items, err
}

// PeekInto is Peek reading into buf and appending to items[:0], both
// reused when large enough; the items alias the returned buffer, which
// the caller passes again next time.
func (q *Queue) PeekInto(buf []byte, items []Item, maxRecords, maxBytes int) ([]Item, []byte, error) {
	items = items[:0]
	q.mu.Lock()
	for len(q.segs) > 1 && q.head.Off >= q.segs[0].size {
		q.dropFile(q.segs[0])
		_ = q.writeCursor()
	}
	s := q.segs[0]
	id, off, size := s.id, q.head.Off, s.size
	q.mu.Unlock()
	if off >= size {
		return items, buf, nil
	}
	f, err := os.Open(q.segPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return items, buf, nil // dropped meanwhile
	}
	if err != nil {
		return items, buf, err
	}
	defer f.Close()
	want := min(size-off, int64(maxBytes)+frameHeader)
	// The first record is read whole, whatever its size.
	var hdr [frameHeader]byte
	if _, err := f.ReadAt(hdr[:], off); err == nil {
		if l := int64(binary.LittleEndian.Uint32(hdr[:])); l <= maxRecord && frameHeader+l > want && off+frameHeader+l <= size {
			want = frameHeader + l
		}
	}
	if int64(cap(buf)) < want {
		buf = make([]byte, want)
	}
	buf = buf[:want]
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return items, buf, err
	}
	p := 0
	for len(items) < maxRecords && p < len(buf) {
		payload, n, err := readFrame(buf[p:])
		if err != nil {
			if len(items) > 0 {
				break // a record cut by the read's size
			}
			return items, buf, fmt.Errorf("%w in %s at %d", errCorrupt, q.segPath(id), off+int64(p))
		}
		rec, err := decodeRecord(payload, items)
		if err != nil {
			return items, buf, fmt.Errorf("%w in %s at %d", errCorrupt, q.segPath(id), off+int64(p))
		}
		p += n
		items = append(items, Item{Record: rec, End: Pos{Seg: id, Off: off + int64(p)}})
	}
	return items, buf, nil
}

// SkipSegment moves the head past the rest of its segment (after a
// corrupt frame) and returns how many records it passed.
func (q *Queue) SkipSegment() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := q.segs[0]
	n := s.records - q.headRecords
	q.head.Off = s.size
	q.headRecords = s.records
	_ = q.writeCursor()
	return n
}

// MarkInflight records that the records up to end are being sent.
func (q *Queue) MarkInflight(end Pos) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	q.inflight = end
	return q.writeCursor()
}

// ClearInflight records that nothing is being sent.
func (q *Queue) ClearInflight() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	q.inflight = q.head
	return q.writeCursor()
}

// Ack consumes the n records up to end (a position Peek returned). A
// position behind the head (its segment was dropped meanwhile) is ignored.
func (q *Queue) Ack(end Pos, n int) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	if end.Seg != q.head.Seg || end.Off <= q.head.Off {
		return nil
	}
	q.head = end
	q.headRecords += n
	if q.redeliverTo.before(end) || q.redeliverTo == end {
		q.redeliverTo = Pos{}
	}
	for len(q.segs) > 1 && q.head.Off >= q.segs[0].size {
		q.dropFile(q.segs[0])
	}
	return q.writeCursor()
}

// Close syncs and closes the queue's files.
func (q *Queue) Close() error {
	q.syncMu.Lock()
	defer q.syncMu.Unlock()
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	err := q.active.Sync()
	return errors.Join(err, q.active.Close(), q.cursor.Close())
}
