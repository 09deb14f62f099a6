package otlp

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
)

// Config is the user-facing configuration of the OTLP receiver (every
// signal, both transports).
type Config struct {
	// MaxBodyBytes caps the request body as sent (before decompression);
	// larger bodies get 413. Also the gRPC maximum receive message size.
	MaxBodyBytes int64
	// MaxDecompressedBytes caps a body after decompression (413 beyond),
	// which stops compression bombs.
	MaxDecompressedBytes int64
	// MaxDecodedBytes caps the memory the events decoded from one request
	// (of any signal) may take, and that of the request's decoded protobuf
	// form (413 beyond, gRPC InvalidArgument: never worth a retry).
	// Resource and scope attributes are copied onto every event that
	// carries them, so a small body can expand a lot; this bound is checked
	// before any event is built.
	MaxDecodedBytes int64
	// RetryAfter is what retryable failures (overload, shutdown, store
	// errors) tell the sender to wait: HTTP Retry-After, gRPC RetryInfo.
	RetryAfter time.Duration
}

// DefaultConfig returns Honeycomb's limits: a 20 MiB body, 100 MiB once
// decompressed, retry after one second; and tracecomb's own bound of
// DefaultMaxDecodedBytes of decoded events per request.
func DefaultConfig() Config {
	return Config{
		MaxBodyBytes:         20 << 20,
		MaxDecompressedBytes: 100 << 20,
		MaxDecodedBytes:      DefaultMaxDecodedBytes,
		RetryAfter:           time.Second,
	}
}

// DefaultMaxDecodedBytes is the default Config.MaxDecodedBytes: at most
// the default pending budget (ingest.DefaultMaxPendingBytes), so a request
// that passes it can be taken in when nothing else is pending.
const DefaultMaxDecodedBytes = 256 << 20

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("otlp: MaxBodyBytes must be positive, got %d", c.MaxBodyBytes))
	}
	if c.MaxDecompressedBytes < c.MaxBodyBytes {
		errs = append(errs, fmt.Errorf("otlp: MaxDecompressedBytes (%d) must be at least MaxBodyBytes (%d)", c.MaxDecompressedBytes, c.MaxBodyBytes))
	}
	if c.MaxDecodedBytes < 0 {
		errs = append(errs, fmt.Errorf("otlp: MaxDecodedBytes must not be negative, got %d", c.MaxDecodedBytes))
	}
	if c.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("otlp: RetryAfter must not be negative, got %v", c.RetryAfter))
	}
	return errors.Join(errs...)
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = d.MaxBodyBytes
	}
	if c.MaxDecompressedBytes == 0 {
		c.MaxDecompressedBytes = max(d.MaxDecompressedBytes, c.MaxBodyBytes)
	}
	if c.MaxDecodedBytes == 0 {
		c.MaxDecodedBytes = d.MaxDecodedBytes
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = d.RetryAfter
	}
	return c
}

// Deps are what the receiver is wired to.
type Deps struct {
	Logger   *slog.Logger          // nil: discard
	Metrics  prometheus.Registerer // nil: metrics are kept but not registered
	Auth     auth.Authenticator    // required
	Consumer ingest.Consumer       // required

	// Pending is the budget of bytes of events waiting for a commit
	// (ingest.Batcher.Budget): each request reserves on it what its
	// decoding takes, before allocating, and is answered 429 (gRPC
	// Unavailable) when it has no room; the reservation goes with the
	// events to the consumer. Nil: nothing is reserved.
	Pending *ingest.Budget
	// Inflater decompresses OTLP/HTTP bodies within the process's
	// decompression budget, shared with the other doors. Nil: a budget of
	// ingest.DefaultMaxDecompressBytes for this handler alone.
	Inflater *ingest.Inflater
}

// receiver is the logic both transports share.
type receiver struct {
	cfg      Config
	auth     auth.Authenticator
	consumer ingest.Consumer
	pending  *ingest.Budget
	inflater *ingest.Inflater
	log      *slog.Logger
	m        *metrics
	limiter  logLimiter
	rejects  ingest.RejectLog
}

func newReceiver(cfg Config, deps Deps) (*receiver, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Auth == nil || deps.Consumer == nil {
		return nil, errors.New("otlp: Deps.Auth and Deps.Consumer are required")
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(deps.Metrics)
	if err != nil {
		return nil, err
	}
	inflater := deps.Inflater
	if inflater == nil {
		inflater = ingest.NewInflater(0, 0)
	}
	return &receiver{cfg: cfg, auth: deps.Auth, consumer: deps.Consumer, pending: deps.Pending, inflater: inflater, log: log.With("component", "otlp"), m: m}, nil
}

func mustReceiver(cfg Config, deps Deps) *receiver {
	r, err := newReceiver(cfg, deps)
	if err != nil {
		panic(err)
	}
	return r
}

// rejected logs (rate-limited) a request the receiver refused: a wrong key
// or path would otherwise leave the server's log silent.
func (r *receiver) rejected(transport, remote, status, reason string) {
	r.rejects.Warn(r.log, status, "rejected an OTLP request", "transport", transport, "remote", remote, "status", status, "reason", reason)
}

// logLimiter lets one message through per interval, so problems that
// repeat per request do not flood the log.
type logLimiter struct{ next atomic.Int64 }

const logInterval = 10 * time.Second

func (l *logLimiter) allow() bool {
	now := time.Now().UnixNano()
	n := l.next.Load()
	return now >= n && l.next.CompareAndSwap(n, now+int64(logInterval))
}
