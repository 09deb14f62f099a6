package xray

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/xrayview"
)

// ReadBufferSize is the per-read buffer: a datagram longer than this is
// truncated (and then rejected as bad JSON), as it is by the X-Ray daemon.
const ReadBufferSize = 64 * 1024

// Config configures the UDP side of the X-Ray daemon door. Zero fields take
// the defaults of DefaultConfig.
type Config struct {
	// Addr is the UDP address to listen on (default 127.0.0.1:2000, the
	// X-Ray daemon's; ":0" or "127.0.0.1:0" picks a free port).
	Addr string
	// Env is the environment every received segment is stored in; the
	// daemon port has no keys (default "test").
	Env string
	// Readers is the number of goroutines reading datagrams off the socket
	// (default 2). They only copy each datagram into the datagram queue.
	Readers int
	// Decoders is the number of goroutines decoding queued datagrams
	// (default 1: one decodes tens of thousands of datagrams a second, and
	// leaves the other processors to the readers and the consumer).
	Decoders int
	// DatagramBytes bounds the memory of the datagrams read but not yet
	// decoded (default 32 MiB: some 66,000 of the bench harness's
	// datagrams, a segment with eleven annotations in 440 bytes, each
	// counted 504). It absorbs bursts that the decoders, or the
	// consumer behind them, cannot keep up with; past it new datagrams are
	// dropped and counted (reason queue_full).
	DatagramBytes int64
	// BatchEvents is how many spans are collected before the consumer is
	// called (default 500).
	BatchEvents int
	// MaxBatchEvents caps the spans of one call of the consumer (default
	// 5000; the document that reaches it is taken whole). While the
	// consumer works on a batch the next one keeps taking what arrives,
	// up to this, so that what a call costs whatever its size (a store
	// commit's fixed part) is paid once for many spans.
	MaxBatchEvents int
	// FlushInterval is the longest a received span waits for its batch to
	// fill (default 100ms).
	FlushInterval time.Duration
	// QueueBytes bounds the memory of the decoded documents the daemon
	// holds (queued, being batched, or with the consumer until it
	// returns), estimated with ingest.EstimateBytes (default 64 MiB). When
	// it is used up the decoders wait for room, up to ConsumeTimeout, and
	// the datagrams wait in their queue (DatagramBytes); a document that
	// still finds no room is dropped and counted (queue_full), as the
	// X-Ray daemon drops segments when its buffer is full. These bytes are
	// also reserved on Settings.Pending, the budget shared with the other
	// doors; a document that does not fit there is dropped at once
	// (pending_full).
	QueueBytes int64
	// ConsumeTimeout bounds one call of the consumer (default 1 minute:
	// ingest.Batcher, the consumer tracecomb gives the daemon, may wait
	// for the commit before its own, and bounds each at 30 s by default;
	// a batch whose call times out is counted as dropped although the
	// Batcher may still store it).
	ConsumeTimeout time.Duration
	// SocketBuffer is the kernel receive buffer asked for, in bytes, to
	// absorb bursts (default 4 MiB). Linux grants at most
	// net.core.rmem_max unless the process has CAP_NET_ADMIN
	// (SO_RCVBUFFORCE), and reserves twice the size for its bookkeeping.
	SocketBuffer int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr:           "127.0.0.1:2000",
		Env:            "test",
		Readers:        2,
		Decoders:       1,
		DatagramBytes:  DefaultDatagramBytes,
		BatchEvents:    500,
		MaxBatchEvents: 5000,
		FlushInterval:  100 * time.Millisecond,
		QueueBytes:     DefaultQueueBytes,
		ConsumeTimeout: time.Minute,
		SocketBuffer:   4 << 20,
	}
}

// DefaultQueueBytes is the default Config.QueueBytes.
const DefaultQueueBytes = 64 << 20

// DefaultDatagramBytes is the default Config.DatagramBytes.
const DefaultDatagramBytes = 32 << 20

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.Env == "" {
		c.Env = d.Env
	}
	if c.Readers == 0 {
		c.Readers = d.Readers
	}
	if c.Decoders == 0 {
		c.Decoders = d.Decoders
	}
	if c.DatagramBytes == 0 {
		c.DatagramBytes = d.DatagramBytes
	}
	if c.BatchEvents == 0 {
		c.BatchEvents = d.BatchEvents
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = max(d.MaxBatchEvents, c.BatchEvents)
	}
	if c.QueueBytes == 0 {
		c.QueueBytes = d.QueueBytes
	}
	if c.ConsumeTimeout == 0 {
		c.ConsumeTimeout = d.ConsumeTimeout
	}
	if c.SocketBuffer == 0 {
		c.SocketBuffer = d.SocketBuffer
	}
	return c
}

// Validate reports a configuration that cannot work (after defaults).
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("xray daemon: address %q: %w", c.Addr, err))
	}
	if c.Readers < 0 || c.Decoders < 0 || c.BatchEvents < 0 || c.MaxBatchEvents < 0 || c.QueueBytes < 0 || c.DatagramBytes < 0 || c.SocketBuffer < 0 {
		errs = append(errs, errors.New("xray daemon: readers, decoders, batch sizes, queue sizes and socket buffer must be positive"))
	}
	if c.MaxBatchEvents < c.BatchEvents {
		errs = append(errs, fmt.Errorf("xray daemon: the largest batch (%d spans) is smaller than the batch size (%d)", c.MaxBatchEvents, c.BatchEvents))
	}
	if c.FlushInterval < 0 || c.ConsumeTimeout < 0 {
		errs = append(errs, errors.New("xray daemon: flush interval and consume timeout must be positive"))
	}
	return errors.Join(errs...)
}

// Settings are what the program, not the user, gives a Daemon.
type Settings struct {
	Logger     *slog.Logger          // nil: discard
	Registerer prometheus.Registerer // nil: metrics are kept but not exported
	// Pending is the budget of bytes of events waiting for a commit that
	// every door shares (ingest.Batcher.Budget): a decoded document is
	// queued only once its bytes are reserved on it, and dropped
	// otherwise; the reservation goes to the consumer with the batch
	// (ingest.WithReservation). Nil: only Config.QueueBytes bounds the
	// daemon.
	Pending *ingest.Budget
}

// Daemon receives X-Ray segment datagrams over UDP, as the X-Ray daemon does
// on port 2000, decodes them and hands the spans to a Consumer in batches.
// Readers never wait for the consumer: when it falls behind, the queue,
// bounded in documents and in bytes (its own and the shared pending
// budget), fills and further documents are dropped and counted. Malformed
// datagrams are counted by reason and logged at most once a second.
type Daemon struct {
	cfg     Config
	next    ingest.Consumer
	log     *slog.Logger
	m       *metrics
	reject  *LogLimiter
	drop    *LogLimiter
	own     *ingest.Budget // Config.QueueBytes
	pending *ingest.Budget // Settings.Pending

	rawUsed atomic.Int64 // bytes of the datagrams in raw, bounded by Config.DatagramBytes
	// watchDrops: the kernel reports the socket's drops (SO_RXQ_OVFL);
	// sockDrops is the highest total it reported.
	watchDrops bool
	sockDrops  atomic.Int64
	raw        *fifo[datagram]
	queue      *fifo[queued]

	mu       sync.Mutex
	state    int // 0 new, 1 running, 2 stopped
	conn     net.PacketConn
	readers  sync.WaitGroup
	decoders sync.WaitGroup
	done     chan struct{}
	runCtx   context.Context
	stopRun  context.CancelFunc
}

// datagram is a copy of one datagram read and not yet decoded.
type datagram []byte

// datagramOverhead is what a queued datagram holds beyond its bytes: its
// slot in the queue and the allocator's rounding.
const datagramOverhead = 64

// datagramSize is what a datagram of n bytes holds on Daemon.rawUsed.
func datagramSize(n int) int64 { return int64(n) + datagramOverhead }

// queued is one decoded document and the bytes reserved for it.
type queued struct {
	events  []model.Event
	own     *ingest.Reservation // on Daemon.own
	pending *ingest.Reservation // on Daemon.pending
}

func (q queued) release() {
	q.own.Release()
	q.pending.Release()
}

// NewDaemon checks cfg and registers the daemon's metrics; Start listens.
func NewDaemon(cfg Config, next ingest.Consumer, set Settings) (*Daemon, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if next == nil {
		return nil, errors.New("xray daemon: nil consumer")
	}
	cfg = cfg.withDefaults()
	log := set.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Daemon{
		cfg:     cfg,
		next:    next,
		log:     log,
		reject:  &LogLimiter{Every: time.Second},
		drop:    &LogLimiter{Every: time.Second},
		raw:     newFIFO[datagram](),
		queue:   newFIFO[queued](),
		done:    make(chan struct{}),
		own:     ingest.NewBudget(cfg.QueueBytes),
		pending: set.Pending,
	}
	d.m = newMetrics(func() float64 { return float64(d.queue.len()) }, func() float64 { return float64(d.own.Used()) },
		func() float64 { return float64(d.rawUsed.Load()) })
	if set.Registerer != nil {
		if err := d.m.register(set.Registerer); err != nil {
			return nil, fmt.Errorf("xray daemon: metrics: %w", err)
		}
	}
	return d, nil
}

// Start binds the UDP socket and starts the readers and the batcher. The
// context only bounds binding.
func (d *Daemon) Start(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.state != 0 {
		return errors.New("xray daemon: already started")
	}
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(ctx, "udp", d.cfg.Addr)
	if err != nil {
		return fmt.Errorf("xray daemon: listen %s: %w", d.cfg.Addr, err)
	}
	sockBuf := 0
	if u, ok := conn.(*net.UDPConn); ok {
		if d.cfg.SocketBuffer > 0 {
			sockBuf = setSocketBuffer(u, d.cfg.SocketBuffer) // best effort: the kernel may cap it
		}
		d.watchDrops = watchSocketDrops(u)
	}
	d.conn = conn
	d.state = 1
	d.runCtx, d.stopRun = context.WithCancel(context.WithoutCancel(ctx))
	for range d.cfg.Readers {
		d.readers.Add(1)
		go d.read(conn)
	}
	for range d.cfg.Decoders {
		d.decoders.Add(1)
		go d.decode()
	}
	go d.batch()
	d.log.Info("x-ray daemon listening", "udp", conn.LocalAddr().String(), "env", d.cfg.Env,
		"socket_buffer_asked", d.cfg.SocketBuffer, "socket_buffer_reported", sockBuf)
	return nil
}

// Addr returns the bound address, or nil before Start.
func (d *Daemon) Addr() net.Addr {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil
	}
	return d.conn.LocalAddr()
}

// Shutdown stops reading, then hands everything already received to the
// consumer. It returns ctx's error if that does not finish in time (the
// consumer's context is then cancelled). It is safe to call more than once
// and before Start.
func (d *Daemon) Shutdown(ctx context.Context) error {
	d.mu.Lock()
	state := d.state
	d.state = 2
	d.mu.Unlock()
	if state != 1 {
		if state == 2 {
			select {
			case <-d.done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	err := d.conn.Close()
	d.readers.Wait()
	d.raw.close()
	go func() {
		d.decoders.Wait()
		d.queue.close()
	}()
	select {
	case <-d.done:
	case <-ctx.Done():
		d.stopRun()
		return ctx.Err()
	}
	d.stopRun()
	d.log.Info("x-ray daemon stopped")
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

func (d *Daemon) read(conn net.PacketConn) {
	defer d.readers.Done()
	buf := make([]byte, ReadBufferSize)
	u, _ := conn.(*net.UDPConn)
	var oob []byte
	if u != nil && d.watchDrops {
		oob = make([]byte, socketDropsOOB)
	}
	for {
		var (
			n   int
			err error
		)
		if oob != nil {
			var oobn int
			n, oobn, _, _, err = u.ReadMsgUDP(buf, oob)
			if total, ok := socketDrops(oob[:oobn]); ok {
				d.socketDropped(total)
			}
		} else {
			n, _, err = conn.ReadFrom(buf)
		}
		if n > 0 {
			d.receive(buf[:n])
		}
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (e.g. ICMP noise); keep reading.
			d.reject.Warn(d.log, "x-ray daemon: read error", "err", err)
			time.Sleep(time.Millisecond)
		}
	}
}

// receive counts one datagram and queues a copy of it for the decoders,
// or drops it when the datagram queue's bytes are used up. It never
// blocks, so the readers keep the socket's buffer drained.
func (d *Daemon) receive(p []byte) {
	d.m.received.Inc()
	size := datagramSize(len(p))
	// One datagram is taken even when it is larger than the bound.
	if used := d.rawUsed.Add(size); used > d.cfg.DatagramBytes && used != size {
		d.rawUsed.Add(-size)
		d.m.dropped.WithLabelValues(dropQueueFull).Inc()
		d.drop.Warn(d.log, "x-ray daemon: datagram queue full, segment dropped", "datagram_bytes", d.cfg.DatagramBytes)
		return
	}
	if !d.raw.push(datagram(bytes.Clone(p))) {
		d.rawUsed.Add(-size)
		d.m.dropped.WithLabelValues(dropShutdown).Inc()
	}
}

// socketDropped counts the datagrams the kernel dropped, given the
// socket's running total that came with a read.
func (d *Daemon) socketDropped(total uint32) {
	for {
		seen := d.sockDrops.Load()
		if int64(total) <= seen {
			return
		}
		if d.sockDrops.CompareAndSwap(seen, int64(total)) {
			d.m.dropped.WithLabelValues(dropSocketBuffer).Add(float64(int64(total) - seen))
			d.drop.Warn(d.log, "x-ray daemon: the socket's receive buffer overflowed, datagrams dropped by the kernel", "socket_buffer", d.cfg.SocketBuffer)
			return
		}
	}
}

func oneDatagram(*datagram) int { return 1 }

// decode decodes queued datagrams until the datagram queue is closed and
// empty. A decoder waits for room in the document queue (handle), so when
// the consumer falls behind the datagrams wait in their queue, which
// holds them in fewer bytes than their decoded spans take.
func (d *Daemon) decode() {
	defer d.decoders.Done()
	var taken []datagram
	for {
		var drained bool
		taken, drained = d.raw.take(taken[:0], 1, oneDatagram)
		if len(taken) == 0 {
			if drained {
				return
			}
			d.raw.wait()
			continue
		}
		g := taken[0]
		taken[0] = nil
		if d.runCtx.Err() != nil {
			// Shutdown gave up waiting: what is left is dropped, counted.
			d.m.dropped.WithLabelValues(dropShutdown).Inc()
		} else {
			d.handle(d.runCtx, g, d.cfg.ConsumeTimeout)
		}
		d.rawUsed.Add(-datagramSize(len(g)))
	}
}

// handle decodes one datagram and queues its spans, waiting up to wait
// for their bytes to fit in the queue (Config.QueueBytes); a document
// that does not fit by then is dropped, and so is one that does not fit
// in the pending budget shared with the other doors (Settings.Pending),
// at once: then the whole server is behind.
func (d *Daemon) handle(ctx context.Context, p []byte, wait time.Duration) {
	defer func() {
		if r := recover(); r != nil {
			d.m.rejected.WithLabelValues(reasonInternal).Inc()
			d.reject.Warn(d.log, "x-ray daemon: datagram crashed the decoder", "panic", fmt.Sprint(r))
		}
	}()
	doc, err := SplitDatagram(p)
	if err != nil {
		reason := err.(*DatagramError).Reason
		d.m.rejected.WithLabelValues(reason).Inc()
		d.reject.Warn(d.log, "x-ray daemon: datagram rejected", "reason", reason, "bytes", len(p))
		return
	}
	events, err := Decode(doc)
	if err != nil {
		var se *SegmentError
		reason := reasonInternal
		detail := err.Error()
		id := ""
		if errors.As(err, &se) {
			reason, detail, id = se.ErrorCode, se.Detail, se.ID
		}
		d.m.rejected.WithLabelValues(reason).Inc()
		d.reject.Warn(d.log, "x-ray daemon: segment rejected", "reason", reason, "id", id, "detail", detail)
		return
	}
	bytes := ingest.EstimateBytes(events)
	own := d.own.NewReservation()
	if !own.Grow(ctx, bytes, wait) {
		d.m.dropped.WithLabelValues(dropQueueFull).Inc()
		d.drop.Warn(d.log, "x-ray daemon: queue full, segment dropped", "queue_bytes", d.cfg.QueueBytes)
		return
	}
	pending, ok := d.pending.TryReserve(bytes)
	if !ok {
		own.Release()
		d.m.dropped.WithLabelValues(dropPendingFull).Inc()
		d.drop.Warn(d.log, "x-ray daemon: too much ingest waiting to be stored, segment dropped", "pending_bytes_limit", d.pending.Limit())
		return
	}
	if !d.queue.push(queued{events: events, own: own, pending: pending}) {
		own.Release()
		pending.Release()
		d.m.dropped.WithLabelValues(dropShutdown).Inc()
	}
}

func queuedEvents(q *queued) int { return len(q.events) }

// batch collects queued documents into batches for the consumer until the
// queue is closed and empty, flushing what is left at the end. A batch is
// handed over once it holds Config.BatchEvents spans or its first span
// waited Config.FlushInterval; it takes every document queued meanwhile,
// up to Config.MaxBatchEvents spans, so that while the consumer works on
// one batch the next grows. One batch is with the consumer at a time,
// which keeps the order in which documents arrived.
func (d *Daemon) batch() {
	defer close(d.done)
	var (
		events []model.Event
		docs   int
		taken  []queued
		due    bool // the first span of the batch waited FlushInterval
		own    = d.own.NewReservation()
		held   = d.pending.NewReservation()
	)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		var drained bool
		taken, drained = d.queue.take(taken[:0], d.cfg.MaxBatchEvents-len(events), queuedEvents)
		for i := range taken {
			if len(events) == 0 {
				timer.Reset(d.cfg.FlushInterval)
			}
			events = append(events, taken[i].events...)
			own.Absorb(taken[i].own)
			held.Absorb(taken[i].pending)
			docs++
		}
		clear(taken)
		if len(events) > 0 && (len(events) >= d.cfg.BatchEvents || due || drained) {
			timer.Stop()
			d.flush(events, docs, held)
			held.Release()
			own.Release()
			events, docs, due = nil, 0, false
			continue // more may have queued meanwhile
		}
		if drained {
			return
		}
		select {
		case <-d.queue.wake:
		case <-d.queue.done:
		case <-timer.C:
			due = true
		}
	}
}

// flush hands a batch to the consumer with the bytes reserved for it on
// the pending budget, which the consumer may take over.
func (d *Daemon) flush(events []model.Event, docs int, held *ingest.Reservation) {
	ctx, cancel := context.WithTimeout(ingest.WithReservation(d.runCtx, held), d.cfg.ConsumeTimeout)
	defer cancel()
	events = xrayview.Dedupe(events)
	n := len(events)
	if err := d.next.Consume(ctx, d.cfg.Env, events); err != nil {
		if re := ingest.Refused(err); re != nil {
			// The others are stored; sending them again would not help.
			d.m.refused.Add(float64(len(re.Refused)))
			d.m.spans.Add(float64(n - len(re.Refused)))
			d.drop.Warn(d.log, "x-ray daemon: the store refused spans", "spans", len(re.Refused), "reason", re.Refused[0].Text())
			return
		}
		d.m.dropped.WithLabelValues(dropConsumer).Add(float64(docs))
		d.drop.Warn(d.log, "x-ray daemon: consumer failed, segments dropped", "segments", docs, "spans", n, "err", err)
		return
	}
	d.m.spans.Add(float64(n))
}

// LogLimiter logs warnings at most once per Every, reporting how many it
// held back in between: for per-datagram problems, which a flood of bad
// datagrams would otherwise turn into a flood of lines. The zero value
// logs every message; it is safe for concurrent use.
type LogLimiter struct {
	Every      time.Duration
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// Warn logs msg at warning level unless one was logged less than Every
// ago.
func (r *LogLimiter) Warn(l *slog.Logger, msg string, args ...any) {
	r.mu.Lock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < r.Every {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.suppressed = 0
	r.last = now
	r.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	l.Warn(msg, args...)
}
