package xrayview

import "github.com/tracecomb/tracecomb/internal/model"

// The duplicate-segment rule. X-Ray SDKs send some segments twice: an
// in-progress segment (in_progress:true, no end_time) is followed by its
// complete form with the same id, and the Go SDK may send a complete
// segment again. X-Ray keeps one document per (trace id, segment id): a
// complete one replaces an in-progress one, never the other way round; of
// two complete (or two in-progress) forms the later one is kept. The
// daemon door and PutTraceSegments apply it within what they receive
// (Dedupe), the X-Ray view within a trace it reads (Convert), and a store
// between what it holds and what it is given (Prefer).

// InProgress reports whether a stored span is an X-Ray segment sent in
// progress: its decoder set aws.xray.inprogress (KeyInProgress).
func InProgress(e *model.Event) bool {
	if e.Source != model.SourceXRay {
		return false
	}
	for i := range e.Attrs {
		if e.Attrs[i].Key == KeyInProgress {
			v := e.Attrs[i].Value
			return v.Kind == model.KindBool && v.AsBool()
		}
	}
	return false
}

// Prefer reports whether incoming, a span with the same trace id and span
// id as stored and received after it, takes its place: unless incoming is
// in progress while stored is complete.
func Prefer(stored, incoming *model.Event) bool {
	return !InProgress(incoming) || InProgress(stored)
}

// Dedupe keeps one X-Ray span (Source model.SourceXRay, non-zero span id)
// per trace id and span id of events, in place: where a span comes again,
// the first one's place holds the one Prefer keeps. Other events are kept
// as they are; order is kept. It returns the shortened slice and clears
// the rest of events.
func Dedupe(events []model.Event) []model.Event {
	if len(events) < 2 {
		return events
	}
	type key struct {
		t model.TraceID
		s model.SpanID
	}
	var at map[key]int
	out := events[:0]
	for _, e := range events {
		if e.Source != model.SourceXRay || e.SpanID.IsZero() {
			out = append(out, e)
			continue
		}
		if at == nil {
			at = make(map[key]int, len(events))
		}
		k := key{e.TraceID, e.SpanID}
		i, seen := at[k]
		switch {
		case !seen:
			at[k] = len(out)
			out = append(out, e)
		case Prefer(&out[i], &e):
			out[i] = e
		}
	}
	clear(events[len(out):])
	return out
}
