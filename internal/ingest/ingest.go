// Package ingest owns the contract between the doors that receive telemetry
// (OTLP, X-Ray, Honeycomb events) and whatever stores it: the Consumer
// interface, the error kinds that decide between "retry later" and "never
// retry", the Batcher that groups many small requests into one durable
// commit, and the bounds on ingest memory that every door shares: the
// Batcher's pending budget (Budget, Reservation) and the Inflater's budget
// for request bodies being decompressed. Receivers know a Consumer, never
// a store.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Consumer takes events for an environment. A nil error means the events
// are durable. After the call the events belong to the consumer: the caller
// must not modify or reuse the slice.
type Consumer interface {
	Consume(ctx context.Context, env string, events []model.Event) error
}

// ConsumerFunc adapts a function to Consumer.
type ConsumerFunc func(ctx context.Context, env string, events []model.Event) error

// Consume calls f.
func (f ConsumerFunc) Consume(ctx context.Context, env string, events []model.Event) error {
	return f(ctx, env, events)
}

// ErrOverloaded means the consumer cannot take more now; the sender should
// retry later (HTTP 429/503 with Retry-After, gRPC Unavailable).
var ErrOverloaded = errors.New("overloaded: retry later")

// ErrShuttingDown means the consumer is closing; retryable like ErrOverloaded.
var ErrShuttingDown = errors.New("shutting down")

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying: the same input will fail again
// (HTTP 400, gRPC InvalidArgument).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// Permanentf is Permanent(fmt.Errorf(...)).
func Permanentf(format string, args ...any) error { return Permanent(fmt.Errorf(format, args...)) }

// IsPermanent reports whether err (or one it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// IsRetryable reports whether the sender should retry: overload, shutdown,
// or any error not marked permanent (a failing disk may recover).
func IsRetryable(err error) bool { return err != nil && !IsPermanent(err) }

// Refusal is an event of a Consume call that was not stored, and why (for
// example the store's column limit): the call's other events are durable.
type Refusal struct {
	Index int // into the events given to Consume
	Err   error
	// Message is what the sender is told, in the words of the protocol's
	// real peer (e.g. Honeycomb's "Dataset has too many columns."); empty
	// means Err's text.
	Message string
}

// Text is the refusal's message for the sender.
func (r Refusal) Text() string {
	if r.Message != "" {
		return r.Message
	}
	return r.Err.Error()
}

// RefusedError is what Consume returns when the store refused some of the
// call's events and stored all the others. It is permanent (sending the
// same events again is refused again, and would store the others twice):
// a door that can report each event's fate (OTLP partial success, the
// Events API's per-event statuses, X-Ray's unprocessed segments) should
// find it with errors.As and answer success for the rest.
type RefusedError struct {
	Refused []Refusal // ordered by Index
	Total   int       // events in the call
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%d of %d events not stored: %s", len(e.Refused), e.Total, e.Refused[0].Text())
}

// Unwrap returns the reasons, so that errors.Is finds them.
func (e *RefusedError) Unwrap() []error {
	out := make([]error, 0, len(e.Refused)+1)
	out = append(out, permanent{errors.New("some events were refused")})
	for _, r := range e.Refused {
		out = append(out, r.Err)
	}
	return out
}

// Refused returns the refusals of err when it is a *RefusedError (the
// call's other events are durable), else nil.
func Refused(err error) *RefusedError {
	var re *RefusedError
	if errors.As(err, &re) {
		return re
	}
	return nil
}

// RejectLog logs requests a door refused (a wrong key, path or body) at
// most once per interval (10 s when zero) for each kind of refusal (the
// caller's kind, e.g. the status code: a bounded set), each line saying how
// many of that kind were not logged since the last, so that a
// misconfigured client is visible in the server's log without flooding it.
// The zero value is ready to use.
type RejectLog struct {
	Interval time.Duration
	kinds    sync.Map // kind → *rejectKind
}

type rejectKind struct {
	next       atomic.Int64
	suppressed atomic.Int64
}

// Warn logs msg with args at warn level, unless a refusal of the same kind
// was logged less than Interval ago.
func (l *RejectLog) Warn(log *slog.Logger, kind, msg string, args ...any) {
	every := l.Interval
	if every <= 0 {
		every = 10 * time.Second
	}
	v, _ := l.kinds.LoadOrStore(kind, &rejectKind{})
	k := v.(*rejectKind)
	now := time.Now().UnixNano()
	n := k.next.Load()
	if now < n || !k.next.CompareAndSwap(n, now+int64(every)) {
		k.suppressed.Add(1)
		return
	}
	log.Warn(msg, append(args, "not_logged_since_last", k.suppressed.Swap(0))...)
}
