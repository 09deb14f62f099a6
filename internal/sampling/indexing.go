package sampling

import (
	"context"
	"encoding/binary"
	"math"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
)

// Where X-Ray's doors' spans go (GetTraceSegmentDestination): "XRay", the
// default, indexes every trace for X-Ray's trace views; "CloudWatchLogs"
// (Transaction Search) keeps every span for trace retrieval and indexes
// only the share of traces that the Default indexing rule gives.
const (
	DestinationXRay           = "XRay"
	DestinationCloudWatchLogs = "CloudWatchLogs"
)

// DefaultIndexingRuleName is the only indexing rule X-Ray has.
const DefaultIndexingRuleName = "Default"

// DefaultIndexingPercentage is the Default rule's share of traces indexed
// until it is updated: 1%, X-Ray's own default when Transaction Search is
// enabled.
const DefaultIndexingPercentage = 1.0

// destinationSettle is how long a new destination reports Status PENDING
// before ACTIVE (the spans it governs follow it at once).
const destinationSettle = 5 * time.Second

// Destination is the trace segment destination and its status.
type Destination struct {
	Destination string
	Status      string // PENDING for destinationSettle after a change, then ACTIVE
}

// IndexingRule is an indexing rule: the share of traces X-Ray's trace views
// index when the destination is CloudWatchLogs.
type IndexingRule struct {
	Name                      string    `json:"Name"`
	ModifiedAt                time.Time `json:"ModifiedAt"`
	DesiredSamplingPercentage float64   `json:"DesiredSamplingPercentage"`
}

func defaultIndexingRule() IndexingRule {
	return IndexingRule{Name: DefaultIndexingRuleName, ModifiedAt: time.Unix(0, 0).UTC(), DesiredSamplingPercentage: DefaultIndexingPercentage}
}

// Indexing decides which traces of an environment X-Ray's trace views
// index. The decision depends on the trace id only, so every node and
// every span of a trace agree.
type Indexing struct {
	All     bool    // destination XRay: every trace
	Percent float64 // otherwise: this share of traces, 0–100
}

// Indexed reports whether the trace is indexed: all of them, or those whose
// id's last eight bytes (random in X-Ray and W3C trace ids alike), read as
// a fraction of 2^64, fall below Percent.
func (ix Indexing) Indexed(id model.TraceID) bool {
	if ix.All || ix.Percent >= 100 {
		return true
	}
	if ix.Percent <= 0 {
		return false
	}
	v := binary.BigEndian.Uint64(id[8:16])
	return float64(v) < ix.Percent/100*math.Exp2(64)
}

// Indexing returns env's indexing decision as it stands now.
func (m *Manager) Indexing(ctx context.Context, env string) (Indexing, error) {
	var out Indexing
	err := m.read(env, func(st *envState) error {
		if st.destination != DestinationCloudWatchLogs {
			out = Indexing{All: true}
			return nil
		}
		out = Indexing{Percent: st.indexingRule().DesiredSamplingPercentage}
		return nil
	})
	return out, err
}

func (st *envState) indexingRule() IndexingRule {
	if st.indexing == nil {
		return defaultIndexingRule()
	}
	return *st.indexing
}

// TraceSegmentDestination returns env's destination (default XRay, ACTIVE).
func (m *Manager) TraceSegmentDestination(ctx context.Context, env string) (Destination, error) {
	var out Destination
	err := m.read(env, func(st *envState) error {
		out = m.destinationOf(st)
		return nil
	})
	return out, err
}

func (m *Manager) destinationOf(st *envState) Destination {
	d := Destination{Destination: DestinationXRay, Status: "ACTIVE"}
	if st.destination != "" {
		d.Destination = st.destination
	}
	if !st.destinationAt.IsZero() && m.now().Sub(st.destinationAt) < destinationSettle {
		d.Status = "PENDING"
	}
	return d
}

// UpdateTraceSegmentDestination sets env's destination; nil keeps it.
func (m *Manager) UpdateTraceSegmentDestination(ctx context.Context, env string, dest *string) (Destination, error) {
	if dest != nil && *dest != DestinationXRay && *dest != DestinationCloudWatchLogs {
		var v violations
		v.add("Value '%s' at 'destination' failed to satisfy constraint: Member must satisfy enum value set: [XRay, CloudWatchLogs]", truncate(*dest))
		return Destination{}, v.err()
	}
	var out Destination
	err := m.mutate(env, func(st *envState) error {
		if dest != nil && *dest != m.destinationOf(st).Destination {
			st.destination = *dest
			st.destinationAt = m.now()
		}
		out = m.destinationOf(st)
		return nil
	})
	return out, err
}

// IndexingRules returns env's indexing rules: the Default rule.
func (m *Manager) IndexingRules(ctx context.Context, env string) ([]IndexingRule, error) {
	var out []IndexingRule
	err := m.read(env, func(st *envState) error {
		out = []IndexingRule{st.indexingRule()}
		return nil
	})
	return out, err
}

// UpdateIndexingRule sets the share of traces the named rule indexes
// (0–100); the only rule is Default, any other name is NotFound. A nil
// percentage is the model's missing required member.
func (m *Manager) UpdateIndexingRule(ctx context.Context, env, name string, percent *float64) (IndexingRule, error) {
	var v violations
	if percent == nil {
		v.required("rule.probabilistic.desiredSamplingPercentage")
	} else if math.IsNaN(*percent) || *percent < 0 || *percent > 100 {
		v.add("Value '%v' at 'rule.probabilistic.desiredSamplingPercentage' failed to satisfy constraint: Member must be between 0 and 100", *percent)
	}
	if err := v.err(); err != nil {
		return IndexingRule{}, err
	}
	if name != DefaultIndexingRuleName {
		return IndexingRule{}, &Error{Kind: NotFound, Message: "Indexing rule not found: " + truncate(name), ResourceName: name}
	}
	var out IndexingRule
	err := m.mutate(env, func(st *envState) error {
		r := IndexingRule{Name: name, ModifiedAt: m.now(), DesiredSamplingPercentage: *percent}
		st.indexing = &r
		out = r
		return nil
	})
	return out, err
}
