package xray

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tracecomb/tracecomb/internal/store"
)

// defaultQueryTimeout is TraceDeps.QueryTimeout's default: long enough for
// a day's window of MaxTraces traces on a small machine, short enough that
// one call cannot hold the store for minutes.
const defaultQueryTimeout = 30 * time.Second

// bounded runs a read operation within TraceDeps.QueryTimeout and answers
// what the store could not do in X-Ray's terms (readError).
func (o *traceOps) bounded(op Operation) Operation {
	return func(ctx context.Context, env string, body []byte) (any, error) {
		rctx, cancel := context.WithTimeout(ctx, o.d.QueryTimeout)
		defer cancel()
		resp, err := op(rctx, env, body)
		if err != nil {
			return nil, o.readError(ctx, rctx, err)
		}
		return resp, nil
	}
}

// narrow is what a caller can change to make a read fit.
const narrow = "ask for a shorter time range between StartTime and EndTime, add a FilterExpression or a group, or send fewer TraceIds"

// readError maps a read's failure to an X-Ray error. The trace reads
// document two errors only (InvalidRequestException and
// ThrottledException); anything else reaches the SDKs as a generic 500,
// which they retry as a server fault. So:
//
//   - A read past the store's memory limit is an InvalidRequestException
//     (400) naming what to narrow: the same request fails the same way
//     however often it is sent, and the SDKs do not retry a 400.
//   - A read past its time budget is a ThrottledException (429): how long a
//     read takes depends on what else the store is doing, and this is
//     X-Ray's answer to a request it cannot serve now; the SDKs retry it
//     with backoff (a few attempts) and the CLI prints the message, which
//     names the budget and what to narrow.
//
// parent is the request's own context: when the caller went away the
// error is left as it is.
func (o *traceOps) readError(parent, ctx context.Context, err error) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	switch {
	case errors.Is(err, store.ErrQueryTooLarge):
		return &APIError{Status: http.StatusBadRequest, Code: CodeInvalidRequest,
			Message: "This request needs more memory than the trace store may use (--store-memory-limit): " + narrow + "."}
	case errors.Is(err, store.ErrUnavailable):
		// A server or shard of the store is down: X-Ray's retryable
		// answer, naming what is missing, never a partial one.
		return &APIError{Status: http.StatusTooManyRequests, Code: CodeThrottled,
			Message: "The trace store cannot be read now, retry later: " + err.Error()}
	case parent.Err() == nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &APIError{Status: http.StatusTooManyRequests, Code: CodeThrottled,
			Message: "This request ran past its time budget of " + o.d.QueryTimeout.String() + " (--xray-query-timeout) and was stopped: " + narrow + ", or retry later."}
	}
	return err
}
