package query

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// errDerived marks a failure reading derived columns (not the spec's
// fault).
type errDerived struct{ err error }

func (e errDerived) Error() string { return "reading derived columns: " + e.err.Error() }
func (e errDerived) Unwrap() error { return e.err }

// PlanSpec plans spec over dataset ds (a slug or __all__) of environment
// e at now as POST /1/query_results does: the derived columns it names
// added as calculated fields. A spec problem is a *query.Error. It is
// the one way to plan a saved query: the Query API's results and trigger
// evaluation (internal/alerting) run what it returns with query.Run.
func PlanSpec(ctx context.Context, ss state.Store, e, ds string, spec query.Spec, now time.Time) (query.Plan, error) {
	full, err := withDerived(ctx, ss, e, ds, spec)
	if err != nil {
		return query.Plan{}, errDerived{err}
	}
	return full.Plan(now)
}

// TriggerStateKind is the state kind of triggers' evaluation state
// (TriggerState), scoped and keyed as the trigger ("<dataset>/<id>").
// internal/alerting writes it; the Triggers API reads triggered from it.
const TriggerStateKind state.Kind = "honeycomb.trigger-state"

// TriggerState is what the evaluation of a trigger keeps between runs.
type TriggerState struct {
	Triggered     bool      `json:"triggered"`
	LastEvaluated time.Time `json:"last_evaluated"`
	// Consecutive is the number of evaluations in a row whose result
	// passed the threshold.
	Consecutive int `json:"consecutive"`
}

// StoredTrigger is a trigger with its environment and state key.
type StoredTrigger struct {
	Env, Key string
	Trigger  Trigger
}

// ListTriggers returns the triggers of every environment.
func ListTriggers(ctx context.Context, ss state.Store) ([]StoredTrigger, error) {
	recs, err := ss.ListAll(ctx, kindTrigger)
	if err != nil {
		return nil, err
	}
	out := make([]StoredTrigger, 0, len(recs))
	for _, rec := range recs {
		var t Trigger
		if err := json.Unmarshal(rec.Value, &t); err != nil {
			return nil, fmt.Errorf("stored trigger %s/%s: %w", rec.Scope, rec.Key, err)
		}
		out = append(out, StoredTrigger{Env: rec.Scope, Key: rec.Key, Trigger: t})
	}
	return out, nil
}

// TriggerSpec is the trigger's query as stored with it.
func TriggerSpec(t Trigger) (query.Spec, error) {
	s, err := query.DecodeSpec(bytes.NewReader(t.Query))
	if err != nil {
		return s, fmt.Errorf("trigger %s: query: %w", t.ID, err)
	}
	return s, nil
}

// GetRecipient reads a recipient of environment e.
func GetRecipient(ctx context.Context, ss state.Store, e, id string) (Recipient, error) {
	rec, err := ss.Get(ctx, kindRecipient, e, id)
	if err != nil {
		return Recipient{}, err
	}
	var rc Recipient
	err = json.Unmarshal(rec.Value, &rc)
	return rc, err
}

// triggered reports the stored state of a trigger (false when never
// evaluated).
func triggered(ctx context.Context, ss state.Store, e, key string) bool {
	rec, err := ss.Get(ctx, TriggerStateKind, e, key)
	if err != nil {
		return false
	}
	var st TriggerState
	return json.Unmarshal(rec.Value, &st) == nil && st.Triggered
}
