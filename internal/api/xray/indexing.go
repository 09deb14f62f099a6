package xray

import (
	"context"
	"errors"
	"slices"

	"github.com/tracecomb/tracecomb/internal/ingest"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/sampling"
)

// Transaction Search's control operations: where X-Ray's doors' spans go
// (the trace segment destination) and the Default indexing rule, which
// together decide which traces X-Ray's trace views index
// (sampling.Indexing, applied as events come in by IndexingConsumer).

func (h *Handler) registerIndexing() {
	h.Handle("/GetIndexingRules", "GetIndexingRules", h.getIndexingRules)
	h.Handle("/UpdateIndexingRule", "UpdateIndexingRule", h.updateIndexingRule)
	h.Handle("/GetTraceSegmentDestination", "GetTraceSegmentDestination", h.getTraceSegmentDestination)
	h.Handle("/UpdateTraceSegmentDestination", "UpdateTraceSegmentDestination", h.updateTraceSegmentDestination)
}

type probabilisticOut struct {
	DesiredSamplingPercentage float64 `json:"DesiredSamplingPercentage"`
	ActualSamplingPercentage  float64 `json:"ActualSamplingPercentage"`
}

type indexingRuleOut struct {
	Name       string  `json:"Name"`
	ModifiedAt float64 `json:"ModifiedAt"`
	Rule       struct {
		Probabilistic probabilisticOut `json:"Probabilistic"`
	} `json:"Rule"`
}

// indexingRuleWire renders a rule; the applied share is the desired one
// (tracecomb imposes no limits on it).
func indexingRuleWire(r sampling.IndexingRule) indexingRuleOut {
	out := indexingRuleOut{Name: r.Name, ModifiedAt: epoch(r.ModifiedAt)}
	out.Rule.Probabilistic = probabilisticOut{r.DesiredSamplingPercentage, r.DesiredSamplingPercentage}
	return out
}

func (h *Handler) getIndexingRules(ctx context.Context, env string, body []byte) (any, error) {
	var in nextTokenInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	rules, err := h.meta.IndexingRules(ctx, env)
	if err != nil {
		return nil, err
	}
	out := struct {
		IndexingRules []indexingRuleOut `json:"IndexingRules"`
	}{[]indexingRuleOut{}}
	for _, r := range rules {
		out.IndexingRules = append(out.IndexingRules, indexingRuleWire(r))
	}
	return out, nil
}

func (h *Handler) updateIndexingRule(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		Name *string `json:"Name"`
		Rule *struct {
			Probabilistic *struct {
				DesiredSamplingPercentage *float64 `json:"DesiredSamplingPercentage"`
			} `json:"Probabilistic"`
		} `json:"Rule"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.Name == nil && in.Rule == nil:
		return nil, InvalidRequest("2 validation errors detected: Value null at 'name' failed to satisfy constraint: Member must not be null; Value null at 'rule' failed to satisfy constraint: Member must not be null")
	case in.Name == nil:
		return nil, InvalidRequest("1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	case in.Rule == nil:
		return nil, InvalidRequest("1 validation error detected: Value null at 'rule' failed to satisfy constraint: Member must not be null")
	case in.Rule.Probabilistic == nil:
		// A union with no member set.
		return nil, InvalidRequest("1 validation error detected: Value at 'rule' failed to satisfy constraint: Member must have exactly one member set: [Probabilistic]")
	}
	r, err := h.meta.UpdateIndexingRule(ctx, env, *in.Name, in.Rule.Probabilistic.DesiredSamplingPercentage)
	if err != nil {
		return nil, err
	}
	return struct {
		IndexingRule indexingRuleOut `json:"IndexingRule"`
	}{indexingRuleWire(r)}, nil
}

type destinationOut struct {
	Destination string `json:"Destination"`
	Status      string `json:"Status"`
}

func (h *Handler) getTraceSegmentDestination(ctx context.Context, env string, body []byte) (any, error) {
	var in struct{}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, err := h.meta.TraceSegmentDestination(ctx, env)
	if err != nil {
		return nil, err
	}
	return destinationOut(d), nil
}

func (h *Handler) updateTraceSegmentDestination(ctx context.Context, env string, body []byte) (any, error) {
	var in struct {
		Destination *string `json:"Destination"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	d, err := h.meta.UpdateTraceSegmentDestination(ctx, env, in.Destination)
	if err != nil {
		return nil, err
	}
	return destinationOut(d), nil
}

// IndexingConsumer returns the Consumer X-Ray's doors hand their events
// to: while env's destination is XRay every event goes to indexed; with
// CloudWatchLogs the events of the traces the indexing rule indexes go to
// indexed (where X-Ray's trace views read) and the others to unindexed
// (store.XRayUnindexedEnv, where only trace retrieval reads). The indexed
// part is committed first; an error of either is the call's error (the
// sender retries the whole call: X-Ray segments replace themselves by id,
// OTLP allows the duplicates), and the refusals of both are reported with
// the call's own indexes.
func IndexingConsumer(meta *sampling.Manager, indexed, unindexed ingest.Consumer) ingest.Consumer {
	return ingest.ConsumerFunc(func(ctx context.Context, env string, events []model.Event) error {
		ix, err := meta.Indexing(ctx, env)
		if err != nil {
			return err
		}
		var in, out []int
		for i := range events {
			if ix.Indexed(events[i].TraceID) {
				in = append(in, i)
			} else {
				out = append(out, i)
			}
		}
		switch {
		case len(out) == 0:
			return indexed.Consume(ctx, env, events)
		case len(in) == 0:
			return unindexed.Consume(ctx, env, events)
		}
		var refused []ingest.Refusal
		for _, part := range []struct {
			c   ingest.Consumer
			idx []int
		}{{indexed, in}, {unindexed, out}} {
			evs := make([]model.Event, len(part.idx))
			for j, i := range part.idx {
				evs[j] = events[i]
			}
			err := part.c.Consume(ctx, env, evs)
			var re *ingest.RefusedError
			switch {
			case err == nil:
			case errors.As(err, &re):
				for _, r := range re.Refused {
					r.Index = part.idx[r.Index]
					refused = append(refused, r)
				}
			default:
				return err
			}
		}
		if len(refused) == 0 {
			return nil
		}
		slices.SortFunc(refused, func(a, b ingest.Refusal) int { return a.Index - b.Index })
		return &ingest.RefusedError{Refused: refused, Total: len(events)}
	})
}
