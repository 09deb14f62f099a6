package otlp

import (
	"context"
	"errors"
	"fmt"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
)

// outcome classifies a failure the way both transports report it.
type outcome int

const (
	outcomeOK           outcome = iota
	outcomeUnauthorized         // HTTP 401, gRPC Unauthenticated
	outcomeBadData              // HTTP 400, gRPC InvalidArgument
	outcomeOverloaded           // HTTP 429, gRPC Unavailable (retry)
	outcomeUnavailable          // HTTP 503, gRPC Unavailable (retry)
)

// authenticate resolves the presented key. Honeycomb's own errors are
// unauthorized; anything else (the key store failing) is retryable.
func (r *receiver) authenticate(ctx context.Context, key string) (auth.Principal, outcome, error) {
	if key == "" {
		return auth.Principal{}, outcomeUnauthorized, auth.ErrMissingKey
	}
	p, err := r.auth.Authenticate(ctx, key)
	switch {
	case err == nil:
		if err := p.Check(auth.PermEvents); err != nil { // a configuration key without "Send Events"
			return p, outcomeUnauthorized, err
		}
		return p, outcomeOK, nil
	case errors.Is(err, auth.ErrMissingKey), errors.Is(err, auth.ErrUnknownKey), errors.Is(err, auth.ErrDisabledKey):
		return p, outcomeUnauthorized, err
	}
	if r.limiter.allow() {
		r.log.Warn("authenticating an OTLP request failed", "err", err)
	}
	return p, outcomeUnavailable, err
}

// consume hands the decoded events to the consumer (one call per request)
// and counts them. Events the store refused (its column limits) join the
// rejected items of res, which the response reports as partial success:
// the others are stored, and sending them again would store them twice.
func (r *receiver) consume(ctx context.Context, transport string, sig signalKind, env string, res *Result) (outcome, error) {
	r.m.received[sig].WithLabelValues(transport).Add(float64(res.Accepted + res.Rejected))
	if res.Rejected > 0 {
		r.m.rejected[sig].WithLabelValues(transport).Add(float64(res.Rejected))
	}
	if len(res.Events) == 0 {
		return outcomeOK, nil
	}
	n := len(res.Events)
	kinds := refusalKinds(res.Events)
	err := r.consumer.Consume(ctx, env, res.Events)
	if re := ingest.Refused(err); re != nil {
		items := 0
		for _, f := range re.Refused {
			if kinds(f.Index) {
				items++
			}
		}
		r.m.events.WithLabelValues(signals[sig].name, transport).Add(float64(n - len(re.Refused)))
		r.m.rejected[sig].WithLabelValues(transport).Add(float64(items))
		msg := fmt.Sprintf("%d %s not stored: %s", items, signals[sig].items, re.Refused[0].Text())
		if len(re.Refused) != items {
			msg = fmt.Sprintf("%d events (%d %s) not stored: %s", len(re.Refused), items, signals[sig].items, re.Refused[0].Text())
		}
		res.Rejected += items
		if res.RejectMessage != "" {
			msg = res.RejectMessage + "; " + msg
		}
		res.RejectMessage = msg
		return outcomeOK, nil
	}
	if err == nil {
		r.m.events.WithLabelValues(signals[sig].name, transport).Add(float64(n))
		return outcomeOK, nil
	}
	var o outcome
	switch {
	case errors.Is(err, ingest.ErrOverloaded):
		o = outcomeOverloaded
	case errors.Is(err, ingest.ErrShuttingDown):
		o = outcomeUnavailable
	case ingest.IsPermanent(err):
		o = outcomeBadData
	default:
		o = outcomeUnavailable
	}
	if o != outcomeOverloaded && ctx.Err() == nil && r.limiter.allow() {
		r.log.Warn("storing OTLP "+signals[sig].items+" failed", "transport", transport, "env", env, "events", n, "err", err)
	}
	return o, err
}

// overloadedMessage answers a request refused because the pending budget
// (ingest.Batcher.Budget) had no room for its decoding.
func overloadedMessage(sig signalKind) string {
	return "too many " + signals[sig].items + " are waiting to be stored: " + ingest.ErrOverloaded.Error()
}

// refusalKinds tells which stored events count as items of the response's
// rejected count: for traces the spans (not their span events and links,
// stored as events of their own); every log record and metric series
// event otherwise. The events belong to the consumer once handed over, so
// the answer is taken before.
func refusalKinds(events []model.Event) func(i int) bool {
	mixed := false
	for i := range events {
		if events[i].AnnotationType != "" {
			mixed = true
			break
		}
	}
	if !mixed {
		return func(int) bool { return true }
	}
	spans := make([]bool, len(events))
	for i := range events {
		spans[i] = events[i].AnnotationType == ""
	}
	return func(i int) bool { return i >= 0 && i < len(spans) && spans[i] }
}
