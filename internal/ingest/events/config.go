package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
)

// Config is the user-facing configuration of the Events API door.
type Config struct {
	// MaxBatchBytes caps a /1/batch body as sent (before decompression).
	MaxBatchBytes int64
	// MaxEventBodyBytes caps a /1/events body as sent.
	MaxEventBodyBytes int64
	// MaxDecompressedBytes caps a body after decompression, which stops
	// compression bombs.
	MaxDecompressedBytes int64
	// MaxEventBytes caps one event, uncompressed.
	MaxEventBytes int
	// MaxFields caps the fields of one event (after nested objects are
	// expanded).
	MaxFields int
	// MaxBatchEvents caps the events of one batch, which bounds the memory
	// a small, well-compressed body of tiny events can take.
	MaxBatchEvents int
	// RetryAfter is what a 503 tells the sender to wait.
	RetryAfter time.Duration
}

// DefaultConfig returns Honeycomb's limits: a batch of 5,000,000 bytes, a
// single event's body and any event of 1,000,000 bytes, 2,000 fields; and
// tracecomb's: 100 MiB once decompressed, 100,000 events in a batch; retry
// after one second.
func DefaultConfig() Config {
	return Config{
		MaxBatchBytes:        5_000_000,
		MaxEventBodyBytes:    1_000_000,
		MaxDecompressedBytes: 100 << 20,
		MaxEventBytes:        1_000_000,
		MaxFields:            2000,
		MaxBatchEvents:       100_000,
		RetryAfter:           time.Second,
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	var errs []error
	if c.MaxBatchBytes <= 0 || c.MaxEventBodyBytes <= 0 {
		errs = append(errs, fmt.Errorf("events: MaxBatchBytes (%d) and MaxEventBodyBytes (%d) must be positive", c.MaxBatchBytes, c.MaxEventBodyBytes))
	}
	if c.MaxDecompressedBytes < c.MaxBatchBytes || c.MaxDecompressedBytes < c.MaxEventBodyBytes {
		errs = append(errs, fmt.Errorf("events: MaxDecompressedBytes (%d) must be at least the body limits", c.MaxDecompressedBytes))
	}
	if c.MaxEventBytes <= 0 || c.MaxFields <= 0 || c.MaxBatchEvents <= 0 {
		errs = append(errs, fmt.Errorf("events: MaxEventBytes (%d), MaxFields (%d) and MaxBatchEvents (%d) must be positive", c.MaxEventBytes, c.MaxFields, c.MaxBatchEvents))
	}
	if c.RetryAfter < 0 {
		errs = append(errs, fmt.Errorf("events: RetryAfter must not be negative, got %v", c.RetryAfter))
	}
	return errors.Join(errs...)
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = d.MaxBatchBytes
	}
	if c.MaxEventBodyBytes == 0 {
		c.MaxEventBodyBytes = d.MaxEventBodyBytes
	}
	if c.MaxDecompressedBytes == 0 {
		c.MaxDecompressedBytes = max(d.MaxDecompressedBytes, c.MaxBatchBytes, c.MaxEventBodyBytes)
	}
	if c.MaxEventBytes == 0 {
		c.MaxEventBytes = d.MaxEventBytes
	}
	if c.MaxFields == 0 {
		c.MaxFields = d.MaxFields
	}
	if c.MaxBatchEvents == 0 {
		c.MaxBatchEvents = d.MaxBatchEvents
	}
	if c.RetryAfter == 0 {
		c.RetryAfter = d.RetryAfter
	}
	return c
}

// MaxExpandDepth is the deepest expand_json_depth Honeycomb allows.
const MaxExpandDepth = 10

// Deps are what the handler is wired to.
type Deps struct {
	Logger   *slog.Logger          // nil: discard
	Metrics  prometheus.Registerer // nil: metrics are kept but not registered
	Auth     auth.Authenticator    // required
	Consumer ingest.Consumer       // required: one Consume per request; nil error = durable

	// ExpandJSONDepth returns a dataset's expand_json_depth: how many levels
	// of nested objects in an event become dotted fields (clamped to
	// 0..MaxExpandDepth). Nil: 0, Honeycomb's default, for every dataset.
	ExpandJSONDepth func(ctx context.Context, env, dataset string) int

	// FieldNames returns the Options.FieldNames of a dataset: the columns
	// its dataset definitions name for hot fields. It is asked once per
	// request, so it must answer from memory (a cache). Nil: no dataset
	// has any.
	FieldNames func(ctx context.Context, env, dataset string) map[string]string

	// DatasetExists reports whether env has a dataset of that name (any
	// case). It is asked only for a key that may not create datasets, which
	// gets 404 for a dataset that does not exist. Nil: every key that may
	// send may also create.
	DatasetExists func(ctx context.Context, env, dataset string) (bool, error)

	// Now is the clock for receive times; nil: time.Now.
	Now func() time.Time

	// Inflater decompresses bodies within the process's decompression
	// budget, shared with the other doors (503 with Retry-After when it
	// has no room in time). Nil: a budget of
	// ingest.DefaultMaxDecompressBytes for this handler alone.
	Inflater *ingest.Inflater
}
