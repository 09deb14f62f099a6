package upstream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// Targets.
const (
	TargetHoneycomb = "honeycomb"
	TargetXRay      = "xray"
)

// Config configures one Forwarder: its target and its queue.
type Config struct {
	// Target is TargetHoneycomb or TargetXRay.
	Target string
	// Dir holds the queue's files.
	Dir string
	// MaxQueueBytes bounds the queue on disk; when an Append would pass
	// it the oldest records are dropped (reason queue_full).
	MaxQueueBytes int64

	// HoneycombURL is the Events API's base URL (https://api.honeycomb.io);
	// HoneycombKey the key sent as X-Honeycomb-Team with every request.
	HoneycombURL, HoneycombKey string
	// XRayRegion is the region of X-Ray's endpoint and of the signature;
	// XRayEndpoint, when set, replaces the endpoint (a VPC endpoint, a
	// test server).
	XRayRegion, XRayEndpoint string

	// RequestTimeout bounds one request to the target (default 30 s).
	RequestTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between retries: it doubles
	// from MinBackoff (default 250 ms) up to MaxBackoff (default 30 s),
	// with jitter, or is what a 429/503's Retry-After says (up to
	// MaxBackoff).
	MinBackoff, MaxBackoff time.Duration
}

// DefaultMaxQueueBytes is the queue bound when none is configured;
// MinMaxQueueBytes the smallest (twice the largest event, as the queue
// takes at most half its bound at once).
const (
	DefaultMaxQueueBytes = 512 << 20
	MinMaxQueueBytes     = 2 * (HoneycombMaxEventBytes + 64)
)

// Settings are what the program gives a Forwarder.
type Settings struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: metrics are not registered
}

type sender interface {
	target() string
	// batch returns how many leading items fit one request.
	batch(items []Item) int
	send(ctx context.Context, items []Item) ([]outcome, error)
}

// outcome is one item's fate in an answered request: sent (the zero
// value), to retry, or dropped for a reason.
type outcome struct {
	retry     bool
	reason    string // why it is retried; empty: the target said so for it alone (partial)
	drop      string
	msg       string
	unmatched bool // a refusal that names no item of the request
}

type retryErr struct {
	reason string
	err    error
	after  time.Duration
}

func (e retryErr) Error() string { return e.err.Error() }

type permanentErr struct {
	reason string
	err    error
}

func (e permanentErr) Error() string { return e.err.Error() }

// Forwarder tees a door's accepted events to one target: Wrap's consumer
// queues them on disk once the inner consumer made them durable, and a
// goroutine sends the queue in order, retrying what may succeed later.
type Forwarder struct {
	cfg    Config
	log    *slog.Logger
	q      *Queue
	s      sender
	m      *metrics
	ctx    context.Context
	cancel context.CancelFunc
	drain  chan struct{}
	done   chan struct{}
	once   sync.Once
	// lag is the enqueue time (Unix ns) of the oldest record not sent; 0
	// when the queue is empty.
	lag     atomic.Int64
	rejects ingest.RejectLog
	now     func() time.Time
	// The sender's read buffer and items, reused from batch to batch.
	readBuf []byte
	items   []Item
}

// New opens the queue in cfg.Dir and starts sending it (what an earlier
// process left first).
func New(ctx context.Context, cfg Config, set Settings) (*Forwarder, error) {
	if cfg.MaxQueueBytes == 0 {
		cfg.MaxQueueBytes = DefaultMaxQueueBytes
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(30*time.Second, cfg.MinBackoff)
	}
	if set.Logger == nil {
		set.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxQueueBytes < MinMaxQueueBytes {
		return nil, fmt.Errorf("the forward queue's bound (%d bytes) must be at least %d bytes", cfg.MaxQueueBytes, MinMaxQueueBytes)
	}
	var s sender
	var err error
	switch cfg.Target {
	case TargetHoneycomb:
		s, err = newHoneycombSender(cfg.HoneycombURL, cfg.HoneycombKey, &http.Client{Timeout: cfg.RequestTimeout})
	case TargetXRay:
		if cfg.XRayRegion == "" {
			return nil, errors.New("forwarding to X-Ray needs a region")
		}
		s, err = newXRaySender(ctx, cfg.XRayRegion, cfg.XRayEndpoint, cfg.RequestTimeout)
	default:
		return nil, fmt.Errorf("unknown forward target %q", cfg.Target)
	}
	if err != nil {
		return nil, err
	}
	q, corrupt, err := OpenQueue(cfg.Dir, cfg.MaxQueueBytes)
	if err != nil {
		return nil, fmt.Errorf("forward queue %s: %w", cfg.Dir, err)
	}
	f := &Forwarder{cfg: cfg, log: set.Logger.With("component", "forward", "target", cfg.Target), q: q, s: s,
		drain: make(chan struct{}), done: make(chan struct{}), now: time.Now}
	f.m = newMetrics(cfg.Target, f)
	if set.Registerer != nil {
		if err := f.m.register(set.Registerer); err != nil {
			q.Close()
			return nil, err
		}
	}
	if corrupt > 0 {
		f.m.dropped.WithLabelValues("corrupt").Add(float64(corrupt))
		f.log.Warn("cut damaged records from the forward queue (a write a crash interrupted)", "places", corrupt)
	}
	if b, n := q.Stats(); n > 0 {
		f.log.Info("forwarding what an earlier run queued", "events", n, "bytes", b)
	}
	f.ctx, f.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go f.run()
	return f, nil
}

// Wrap returns a consumer that passes events to inner and, once inner
// made them durable (a nil error, or a RefusedError for the events it
// refused: those are not forwarded), queues them for the target before it
// returns. Queueing failures are logged and counted (reason
// enqueue_failed), never returned: the events are stored, and a client
// told to retry would store them twice.
func (f *Forwarder) Wrap(inner ingest.Consumer) ingest.Consumer {
	return ingest.ConsumerFunc(func(ctx context.Context, env string, events []model.Event) error {
		enc := f.encode(events)
		err := inner.Consume(ctx, env, events)
		if err != nil {
			re := ingest.Refused(err)
			if re == nil {
				enc.release()
				return err
			}
			for _, r := range re.Refused {
				if r.Index >= 0 && r.Index < len(enc.ends) {
					enc.skip[r.Index] = true
				}
			}
		}
		f.enqueue(enc)
		return err
	})
}

// encoded is a Consume call's events encoded for the target: event i's
// body is bodies[ends[i-1]:ends[i]] (empty: not forwarded).
type encoded struct {
	bodies []byte
	ends   []int
	keys   []string
	skip   []bool
	buf    *[]byte
	xray   *xrayPlan // X-Ray's documents, built once the refusals are known
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (e *encoded) release() {
	if e.buf != nil && cap(e.bodies) <= 8<<20 {
		*e.buf = e.bodies[:0]
		bufPool.Put(e.buf)
	}
	e.buf = nil
}

func (f *Forwarder) encode(events []model.Event) *encoded {
	buf := bufPool.Get().(*[]byte)
	e := &encoded{bodies: (*buf)[:0], ends: make([]int, len(events)), skip: make([]bool, len(events)), buf: buf}
	tooLarge := 0
	switch f.cfg.Target {
	case TargetHoneycomb:
		e.keys = make([]string, len(events))
		for i := range events {
			start := len(e.bodies)
			e.bodies = AppendHoneycombEvent(e.bodies, &events[i])
			if len(e.bodies)-start > HoneycombMaxEventBytes {
				e.bodies = e.bodies[:start]
				tooLarge++
			}
			e.ends[i] = len(e.bodies)
			e.keys[i] = events[i].Dataset
		}
	case TargetXRay:
		e.xray = planXRay(events)
	}
	if tooLarge > 0 {
		f.m.dropped.WithLabelValues("too_large").Add(float64(tooLarge))
	}
	return e
}

func (f *Forwarder) enqueue(e *encoded) {
	defer e.release()
	now := f.now().UnixNano()
	chunk := int(f.cfg.MaxQueueBytes / 4)
	fb := bufPool.Get().(*[]byte)
	frames := (*fb)[:0]
	defer func() {
		if cap(frames) <= 8<<20 {
			*fb = frames[:0]
			bufPool.Put(fb)
		}
	}()
	n := 0
	flush := func() {
		if n == 0 {
			return
		}
		f.appendFrames(frames, n)
		frames, n = frames[:0], 0
	}
	add := func(key string, body []byte) {
		if len(frames) > 0 && len(frames)+len(body)+len(key)+32 > chunk {
			flush()
		}
		frames = appendFrame(frames, now, key, body)
		n++
	}
	if e.xray != nil {
		docs, tooLarge := e.xray.documents(e.skip)
		if tooLarge > 0 {
			f.m.dropped.WithLabelValues("too_large").Add(float64(tooLarge))
		}
		for _, d := range docs {
			add("", d)
		}
	}
	start := 0
	for i, end := range e.ends {
		body := e.bodies[start:end]
		start = end
		if len(body) == 0 || e.skip[i] {
			continue
		}
		add(e.keys[i], body)
	}
	flush()
}

func (f *Forwarder) appendFrames(frames []byte, n int) {
	dropped, err := f.q.Append(frames, n)
	if dropped > 0 {
		f.m.dropped.WithLabelValues("queue_full").Add(float64(dropped))
		f.rejects.Warn(f.log, "queue_full", "forward queue full: dropped its oldest events", "events", dropped, "max_bytes", f.cfg.MaxQueueBytes)
	}
	if err != nil {
		f.m.dropped.WithLabelValues("enqueue_failed").Add(float64(n))
		f.rejects.Warn(f.log, "enqueue_failed", "could not queue events for forwarding; they are stored but will not be forwarded", "events", n, "err", err)
		return
	}
	f.m.enqueued.Add(float64(n))
}

// Peek bounds: what the sender reads of the queue at once, sent as one
// batch (for Honeycomb one request per dataset in it).
const (
	peekRecords = honeycombMaxBatchEvents
	peekBytes   = 1 << 20
)

func (f *Forwarder) run() {
	defer close(f.done)
	redeliver := f.q.RedeliverTo()
	attempt := 0
	for {
		var err error
		f.items, f.readBuf, err = f.q.PeekInto(f.readBuf, f.items, peekRecords, peekBytes)
		items := f.items
		if err != nil {
			if errors.Is(err, errCorrupt) {
				n := f.q.SkipSegment()
				f.m.dropped.WithLabelValues("corrupt").Add(float64(n))
				f.log.Error("skipped a damaged part of the forward queue", "events", n, "err", err)
				continue
			}
			f.log.Error("cannot read the forward queue", "err", err)
			if !f.sleep(f.backoff(attempt, 0)) {
				return
			}
			attempt++
			continue
		}
		attempt = 0
		if len(items) == 0 {
			f.lag.Store(0)
			select {
			case <-f.drain:
				return
			default:
			}
			select {
			case <-f.q.Notify():
			case <-f.drain:
			case <-f.ctx.Done():
				return
			}
			continue
		}
		f.lag.Store(items[0].Enqueued.UnixNano())
		items = items[:max(1, f.s.batch(items))]
		end := items[len(items)-1].End
		if !f.deliver(items, end) {
			return
		}
		again := 0
		for _, it := range items {
			if !redeliver.before(it.End) {
				again++
			}
		}
		if again > 0 {
			f.m.redelivered.Add(float64(again))
			f.log.Info("sent again events whose delivery the last run may have completed before it stopped", "events", again)
		}
		if err := f.q.Ack(end, len(items)); err != nil {
			f.log.Warn("cannot record forwarded events as sent", "err", err)
			return
		}
	}
}

// deliver sends items until each is sent or dropped; false when stopped
// first. While a request may have reached the target, the queue's cursor
// says the batch up to end is in flight (a restart counts it as
// redelivered); after a failure that surely delivered nothing (no
// connection, or an error status) it says nothing is.
func (f *Forwarder) deliver(items []Item, end Pos) bool {
	pending := items
	attempt := 0
	marked := false
	for {
		if !marked {
			if err := f.q.MarkInflight(end); err != nil {
				f.log.Warn("cannot record the batch being forwarded", "err", err)
			}
			marked = true
		}
		outs, err := f.s.send(f.ctx, pending)
		if f.ctx.Err() != nil {
			return false
		}
		if err != nil {
			var pe permanentErr
			if errors.As(err, &pe) {
				f.m.dropped.WithLabelValues(pe.reason).Add(float64(len(pending)))
				f.rejects.Warn(f.log, "drop_"+pe.reason, "the target refused a request; its events are dropped", "events", len(pending), "err", err)
				return true
			}
			var re retryErr
			if !errors.As(err, &re) {
				re = retryErr{reason: "network", err: err}
			}
			if re.reason != "network" || isDialError(re.err) {
				if err := f.q.ClearInflight(); err == nil {
					marked = false
				}
			}
			f.m.retries.WithLabelValues(re.reason).Add(float64(len(pending)))
			f.rejects.Warn(f.log, "retry_"+re.reason, "forwarding failed; retrying", "events", len(pending), "attempt", attempt+1, "err", err)
			if f.draining() && attempt+1 >= drainAttempts {
				return false
			}
			if !f.sleep(f.backoff(attempt, re.after)) {
				return false
			}
			attempt++
			continue
		}
		var again []Item
		sent := 0
		retried := map[string]int{}
		for i, o := range outs {
			switch {
			case o.unmatched:
				f.m.dropped.WithLabelValues(o.drop).Inc()
				f.rejects.Warn(f.log, "drop_"+o.drop, "the target refused an event", "reason", o.msg)
				sent--
			case i >= len(pending):
			case o.retry:
				again = append(again, pending[i])
				reason := o.reason
				if reason == "" {
					reason = "partial"
				}
				retried[reason]++
			case o.drop != "":
				f.m.dropped.WithLabelValues(o.drop).Inc()
				f.rejects.Warn(f.log, "drop_"+o.drop, "the target refused an event", "reason", o.msg)
			default:
				sent++
			}
		}
		f.m.sent.Add(float64(max(0, sent)))
		if len(again) == 0 {
			return true
		}
		for reason, n := range retried {
			f.m.retries.WithLabelValues(reason).Add(float64(n))
		}
		pending = again
		if !f.sleep(f.backoff(attempt, 0)) {
			return false
		}
		attempt++
	}
}

// drainAttempts is how many times in a row a request may fail while
// Close drains the queue before the rest is left for the next start.
const drainAttempts = 3

func (f *Forwarder) draining() bool {
	select {
	case <-f.drain:
		return true
	default:
		return false
	}
}

// isDialError reports whether err is a failure to connect: the request
// was never sent.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// backoff is the wait before retry attempt+1.
func (f *Forwarder) backoff(attempt int, after time.Duration) time.Duration {
	if after > 0 {
		return min(after, f.cfg.MaxBackoff)
	}
	d := f.cfg.MinBackoff << min(attempt, 20)
	if d <= 0 || d > f.cfg.MaxBackoff {
		d = f.cfg.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (f *Forwarder) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-f.ctx.Done():
		return false
	}
}

// Close sends what it can of the queue until it is empty, ctx ends or a
// request fails drainAttempts times in a row, then stops sending and
// closes the queue: what was not sent stays on disk for the next start.
// Safe to call twice.
func (f *Forwarder) Close(ctx context.Context) error {
	var err error
	f.once.Do(func() {
		close(f.drain)
		select {
		case <-f.done:
		case <-ctx.Done():
		}
		f.cancel()
		<-f.done
		if b, n := f.q.Stats(); n > 0 {
			f.log.Info("events not yet forwarded stay queued for the next start", "events", n, "bytes", b)
		}
		err = f.q.Close()
	})
	return err
}

// Stats returns the bytes and events queued and not yet sent.
func (f *Forwarder) Stats() (bytes int64, events int) { return f.q.Stats() }

// Target returns the forwarder's target.
func (f *Forwarder) Target() string { return f.cfg.Target }
