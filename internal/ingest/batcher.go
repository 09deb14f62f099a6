package ingest

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/model"
)

// EnvEvents is one request's events in a flush, for one environment;
// several groups of a flush may be of the same environment.
type EnvEvents struct {
	Env    string
	Events []model.Event
	// Refused is set by the FlushFunc when it returns nil: the events of
	// Events it did not store (ordered by Index), each with its reason.
	Refused []Refusal
}

// FlushFunc durably writes one group of requests in a single commit. nil
// means every event in it is durable but those it lists in their group's
// Refused.
type FlushFunc func(ctx context.Context, groups []EnvEvents) error

// BatcherConfig sizes the group commit.
type BatcherConfig struct {
	// MaxPendingEvents bounds the events accepted but not yet committed;
	// beyond it Consume returns ErrOverloaded at once.
	MaxPendingEvents int
	// MaxPendingBytes bounds the memory of the events accepted but not yet
	// committed (estimated with EstimateBytes, or reserved by the doors
	// while they decode; see Budget); beyond it Consume returns
	// ErrOverloaded at once. The doors and the X-Ray daemon reserve from
	// the same budget (Batcher.Budget).
	MaxPendingBytes int64
	// MaxFlushEvents caps the events of one commit.
	MaxFlushEvents int
	// MaxFlushBytes caps the bytes of one commit (the requests' bytes on
	// the pending budget); a single larger request is still committed,
	// alone.
	MaxFlushBytes int64
	// MaxLinger bounds how long the writer waits after a commit for the
	// requests it expects next (see Batcher) before it starts the next
	// commit with fewer; it never waits longer than half the last
	// commit took. Negative: never wait.
	MaxLinger time.Duration
	// FlushTimeout bounds one commit.
	FlushTimeout time.Duration
}

// DefaultBatcherConfig returns the defaults.
func DefaultBatcherConfig() BatcherConfig {
	return BatcherConfig{MaxPendingEvents: 500_000, MaxPendingBytes: DefaultMaxPendingBytes, MaxFlushEvents: 50_000,
		MaxFlushBytes: 64 << 20, MaxLinger: 50 * time.Millisecond, FlushTimeout: 30 * time.Second}
}

// DefaultMaxPendingBytes is the default BatcherConfig.MaxPendingBytes.
const DefaultMaxPendingBytes = 256 << 20

// Batcher is a Consumer that groups concurrent requests into few commits
// (group commit): a request waits while the commit before it runs, and the
// next commit takes everything that queued up meanwhile. One writer
// goroutine calls the FlushFunc, which suits single-writer stores. Consume
// returns only after the commit that holds its events, so a nil error
// still means durable; many small requests cost one commit, not one each.
//
// A store's commit costs much the same for few events as for many, so the
// writer lingers before a commit for the requests it expects: the senders
// whose requests the last commit answered usually send their next at once
// (an SDK's exporter, a collector's queue), so the next commit waits until
// as many requests are queued as were queued when the last commit ended
// plus those it answered, until MaxFlushEvents or MaxFlushBytes are
// queued, or until min(MaxLinger, half the last commit's time) after it
// ended, whichever comes first. Without it, a few senders split into
// alternating commits of half of them each. A lone sender never waits:
// one request is all the writer expects after answering it.
type Batcher struct {
	cfg    BatcherConfig
	flush  FlushFunc
	logger *slog.Logger
	budget *Budget // MaxPendingBytes, shared with the doors

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*pending
	pending int   // events in queue or being committed
	queued  int   // events in queue
	qbytes  int64 // bytes of the requests in queue
	closed  bool
	done    chan struct{}
	// lingerFor is how long the writer may wait for the expected requests
	// after a commit that took took (tests replace it).
	lingerFor func(took time.Duration) time.Duration

	mStored   prometheus.Counter
	mRejected prometheus.Counter
	mLatency  prometheus.Histogram
	mSize     prometheus.Histogram
	mErrors   prometheus.Counter
}

type pending struct {
	env    string
	events []model.Event
	bytes  int64 // held on the budget until the commit ends
	done   chan error
}

// NewBatcher starts a batcher; Close stops it after flushing.
func NewBatcher(cfg BatcherConfig, flush FlushFunc, logger *slog.Logger, reg prometheus.Registerer) *Batcher {
	def := DefaultBatcherConfig()
	if cfg.MaxPendingEvents <= 0 {
		cfg.MaxPendingEvents = def.MaxPendingEvents
	}
	if cfg.MaxPendingBytes <= 0 {
		cfg.MaxPendingBytes = def.MaxPendingBytes
	}
	if cfg.MaxFlushEvents <= 0 {
		cfg.MaxFlushEvents = def.MaxFlushEvents
	}
	if cfg.MaxFlushBytes <= 0 {
		cfg.MaxFlushBytes = def.MaxFlushBytes
	}
	if cfg.MaxLinger == 0 {
		cfg.MaxLinger = def.MaxLinger
	}
	if cfg.FlushTimeout <= 0 {
		cfg.FlushTimeout = def.FlushTimeout
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	b := &Batcher{
		cfg: cfg, flush: flush, logger: logger, done: make(chan struct{}), budget: NewBudget(cfg.MaxPendingBytes),
		mStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_events_stored_total", Help: "Events committed to the store.",
		}),
		mRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_events_rejected_overload_total", Help: "Events refused because too many were pending.",
		}),
		mErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracecomb_store_commit_errors_total", Help: "Commits that failed.",
		}),
		mLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tracecomb_store_commit_seconds", Help: "Time to commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		mSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tracecomb_store_commit_events", Help: "Events per commit.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
	}
	b.cond = sync.NewCond(&b.mu)
	b.lingerFor = func(took time.Duration) time.Duration { return min(b.cfg.MaxLinger, took/2) }
	if reg != nil {
		reg.MustRegister(b.mStored, b.mRejected, b.mErrors, b.mLatency, b.mSize)
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracecomb_ingest_pending_events", Help: "Events accepted and waiting for a commit.",
		}, func() float64 { b.mu.Lock(); defer b.mu.Unlock(); return float64(b.pending) }))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracecomb_ingest_pending_bytes", Help: "Memory held by events accepted and waiting for a commit, by requests being decoded and by the X-Ray daemon's queue (estimated).",
		}, func() float64 { return float64(b.budget.Used()) }))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tracecomb_ingest_pending_bytes_limit", Help: "The bound on tracecomb_ingest_pending_bytes (--max-pending-bytes).",
		}, func() float64 { return float64(b.budget.Limit()) }))
	}
	go b.run()
	return b
}

// Budget returns the pending-bytes budget (BatcherConfig.MaxPendingBytes)
// for the doors to reserve from while they decode, so that a request the
// batcher would refuse is refused before its events are built.
func (b *Batcher) Budget() *Budget { return b.budget }

// Consume implements Consumer: it returns once the events are committed,
// with ErrOverloaded when too many events or bytes are pending,
// ErrShuttingDown after Close began, or the store's error. If ctx carries
// a reservation on b.Budget() (WithReservation), its bytes stand for the
// events' memory and Consume takes them over; otherwise it estimates the
// events' memory (EstimateBytes) and reserves that.
func (b *Batcher) Consume(ctx context.Context, env string, events []model.Event) error {
	if len(events) == 0 {
		return nil
	}
	p := &pending{env: env, events: events, done: make(chan error, 1)}
	if r := reservationFrom(ctx); r != nil && r.b == b.budget && r.n > 0 {
		p.bytes = r.take()
	} else if r, ok := b.budget.TryReserve(EstimateBytes(events)); ok {
		p.bytes = r.take()
	} else {
		b.mRejected.Add(float64(len(events)))
		return ErrOverloaded
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		b.budget.release(p.bytes)
		return ErrShuttingDown
	}
	if b.pending > 0 && b.pending+len(events) > b.cfg.MaxPendingEvents {
		b.mu.Unlock()
		b.budget.release(p.bytes)
		b.mRejected.Add(float64(len(events)))
		return ErrOverloaded
	}
	b.queue = append(b.queue, p)
	b.pending += len(events)
	b.queued += len(events)
	b.qbytes += p.bytes
	b.cond.Signal()
	b.mu.Unlock()

	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The events may still be committed; the sender will retry and,
		// for OTLP, may store a duplicate, which OTLP allows.
		return ctx.Err()
	}
}

func (b *Batcher) run() {
	defer close(b.done)
	var (
		expect int       // requests the next commit waits for
		until  time.Time // and at most until then
	)
	for {
		b.mu.Lock()
		for len(b.queue) == 0 && !b.closed {
			b.cond.Wait()
		}
		if len(b.queue) == 0 && b.closed {
			b.mu.Unlock()
			return
		}
		b.linger(expect, until)
		// Take requests up to MaxFlushEvents and MaxFlushBytes (at least one).
		n, events, bytes := 0, 0, int64(0)
		for n < len(b.queue) && (n == 0 || events+len(b.queue[n].events) <= b.cfg.MaxFlushEvents &&
			bytes+b.queue[n].bytes <= b.cfg.MaxFlushBytes) {
			events += len(b.queue[n].events)
			bytes += b.queue[n].bytes
			n++
		}
		batch := make([]*pending, n)
		copy(batch, b.queue[:n])
		rest := copy(b.queue, b.queue[n:])
		clear(b.queue[rest:]) // the backing array must not keep committed events alive
		b.queue = b.queue[:rest]
		if rest == 0 && cap(b.queue) > 1024 {
			b.queue = nil // a burst's queue is not kept
		}
		b.queued -= events
		b.qbytes -= bytes
		b.mu.Unlock()

		start := time.Now()
		errs := b.commit(batch, events)
		b.budget.release(bytes)
		end := time.Now()
		b.mu.Lock()
		b.pending -= events
		expect = len(b.queue) + n
		b.mu.Unlock()
		until = end.Add(b.lingerFor(end.Sub(start)))
		for i, p := range batch {
			p.done <- errs[i]
			batch[i] = nil
		}
	}
}

// linger waits, with b.mu held, until the queue holds expect requests,
// MaxFlushEvents or MaxFlushBytes, until the time is past until, or until
// Close.
func (b *Batcher) linger(expect int, until time.Time) {
	full := func() bool {
		return b.closed || len(b.queue) >= expect || b.queued >= b.cfg.MaxFlushEvents || b.qbytes >= b.cfg.MaxFlushBytes
	}
	wait := time.Until(until)
	if full() || wait <= 0 {
		return
	}
	t := time.AfterFunc(wait, func() { b.mu.Lock(); b.cond.Broadcast(); b.mu.Unlock() })
	defer t.Stop()
	for !full() && time.Now().Before(until) {
		b.cond.Wait()
	}
}

// commit writes the batch in one flush, one group per request (its events
// as the request gave them, not copied), and returns each request's
// outcome: nil, the flush's error, or the refusals among its events.
func (b *Batcher) commit(batch []*pending, events int) []error {
	groups := make([]EnvEvents, len(batch))
	for j, p := range batch {
		groups[j] = EnvEvents{Env: p.env, Events: p.events}
	}
	errs := make([]error, len(batch))
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.FlushTimeout)
	defer cancel()
	start := time.Now()
	err := b.flush(ctx, groups)
	b.mLatency.Observe(time.Since(start).Seconds())
	b.mSize.Observe(float64(events))
	if err != nil {
		b.mErrors.Inc()
		b.logger.Error("commit failed", "events", events, "err", err)
		for j := range errs {
			errs[j] = err
		}
		return errs
	}
	refused := 0
	for j, p := range batch {
		var mine []Refusal
		for _, r := range groups[j].Refused {
			if r.Index >= 0 && r.Index < len(p.events) {
				mine = append(mine, r)
			}
		}
		if len(mine) > 0 {
			refused += len(mine)
			errs[j] = &RefusedError{Refused: mine, Total: len(p.events)}
		}
	}
	b.mStored.Add(float64(events - refused))
	return errs
}

// Close stops accepting, commits everything already accepted and returns
// when done or when ctx ends. Safe to call twice.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("batcher: pending events not committed before shutdown deadline"), ctx.Err())
	}
}
