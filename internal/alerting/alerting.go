// Package alerting owns the evaluation of triggers and SLO burn alerts
// and the sending of their notifications. An Evaluator, on each tick, runs every enabled
// trigger whose frequency has elapsed since its last evaluation (in its
// evaluation window, if it has one) — under the state-store lease
// "trigger/<env>/<id>", so one node evaluates it — through the Query
// API's own planning (internal/api/query.PlanSpec: derived columns
// included) and query.Run, over the trigger query's relative time range.
// It compares the single calculation's value of each group (or, with a
// baseline threshold, its change since an hour, a day, a week or 28 days
// before) with the threshold, applies exceeded_limit and alert_type, keeps the trigger's
// state (internal/api/query.TriggerState) in the state store and
// notifies each of the trigger's recipients through internal/notify
// (webhook with Honeycomb's trigger payload or the recipient's custom
// template, email, Slack, PagerDuty, MS Teams), which retries failed
// deliveries with backoff in the background.
//
// Burn alerts (burn.go) are evaluated per SLO once a minute under the
// lease "slo/<env>/<id>": one count of the SLO's period and one per alert
// window, each alert's state kept (internal/api/query.BurnAlertState) and
// its recipients notified when it fires and when it resolves.
package alerting

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/notify"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// Config are the Evaluator's settings; zero values take the defaults.
type Config struct {
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Notifier delivers the notifications; default one of
	// notify.Config{Logger, Registerer} (no SMTP server, no Slack token).
	Notifier *notify.Notifier
	Logger   *slog.Logger
	// Tick is how often Run looks for due triggers; default 10 s.
	Tick time.Duration
	// Holder names this node in the triggers' leases; default random.
	Holder string
	// QueryTimeout bounds one trigger's query; default 10 s.
	QueryTimeout time.Duration
	// UIURL is the base of result_url, e.g. "http://localhost:8080".
	UIURL string
	// Registerer receives the default Notifier's
	// tracecomb_notifications_total; nil registers nothing.
	Registerer prometheus.Registerer
}

// Evaluator evaluates triggers; see the package comment.
type Evaluator struct {
	cfg   Config
	store apiquery.Store
	state state.Store
}

// New returns an Evaluator of the triggers kept in ss over the telemetry
// of st.
func New(cfg Config, st apiquery.Store, ss state.Store) (*Evaluator, error) {
	if st == nil || ss == nil {
		return nil, errors.New("alerting: a store and a state store are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Second
	}
	if cfg.Holder == "" {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		cfg.Holder = hex.EncodeToString(b)
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 10 * time.Second
	}
	if cfg.Notifier == nil {
		n, err := notify.New(notify.Config{Logger: cfg.Logger, Registerer: cfg.Registerer})
		if err != nil {
			return nil, err
		}
		cfg.Notifier = n
	}
	return &Evaluator{cfg: cfg, store: st, state: ss}, nil
}

// Run evaluates due triggers every Tick until ctx ends, then waits for
// the deliveries in flight (which end with ctx too).
func (e *Evaluator) Run(ctx context.Context) {
	t := time.NewTicker(e.cfg.Tick)
	defer t.Stop()
	for {
		e.Tick(ctx)
		select {
		case <-ctx.Done():
			e.Wait()
			return
		case <-t.C:
		}
	}
}

// Wait waits for the deliveries in flight (of the Notifier, which may be
// shared).
func (e *Evaluator) Wait() { e.cfg.Notifier.Wait() }

// Tick evaluates every trigger and SLO that is due now; deliveries go on
// in the background (Wait).
func (e *Evaluator) Tick(ctx context.Context) {
	e.tickTriggers(ctx)
	e.tickBurnAlerts(ctx)
}

// tickTriggers evaluates every trigger that is due.
func (e *Evaluator) tickTriggers(ctx context.Context) {
	list, err := apiquery.ListTriggers(ctx, e.state)
	if err != nil {
		if ctx.Err() == nil {
			e.cfg.Logger.Error("listing triggers failed", "err", err)
		}
		return
	}
	for _, st := range list {
		if ctx.Err() != nil {
			return
		}
		if err := e.evaluate(ctx, st); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Error("evaluating a trigger failed", "env", st.Env, "trigger", st.Trigger.ID, "err", err)
		}
	}
}

// readState returns the trigger's state and its record's version
// (state.MustNotExist when it has none).
func (e *Evaluator) readState(ctx context.Context, st apiquery.StoredTrigger) (apiquery.TriggerState, int64, error) {
	var ts apiquery.TriggerState
	rec, err := e.state.Get(ctx, apiquery.TriggerStateKind, st.Env, st.Key)
	if errors.Is(err, state.ErrNotFound) {
		return ts, state.MustNotExist, nil
	}
	if err != nil {
		return ts, 0, err
	}
	if err := json.Unmarshal(rec.Value, &ts); err != nil {
		return ts, 0, fmt.Errorf("trigger state %s/%s: %w", st.Env, st.Key, err)
	}
	return ts, rec.Version, nil
}

func (e *Evaluator) evaluate(ctx context.Context, st apiquery.StoredTrigger) error {
	t := st.Trigger
	now := e.cfg.Now()
	if t.Disabled || !inWindow(t, now) {
		return nil
	}
	freq := time.Duration(t.Frequency) * time.Second
	ts, _, err := e.readState(ctx, st)
	if err != nil {
		return err
	}
	if !ts.LastEvaluated.IsZero() && now.Sub(ts.LastEvaluated) < freq {
		return nil
	}
	ok, err := e.state.Acquire(ctx, "trigger/"+st.Env+"/"+t.ID, e.cfg.Holder, freq)
	if err != nil || !ok {
		return err // another node evaluates it
	}
	// Read again under the lease: another node may have evaluated it
	// before this one took the lease.
	ts, version, err := e.readState(ctx, st)
	if err != nil {
		return err
	}
	if !ts.LastEvaluated.IsZero() && now.Sub(ts.LastEvaluated) < freq {
		return nil
	}
	groups, err := e.run(ctx, st, now)
	if err != nil {
		return err
	}
	if len(t.BaselineDetails) > 0 {
		if groups, err = e.againstBaseline(ctx, st, now, groups); err != nil {
			return err
		}
	}
	var fired []Group
	for _, g := range groups {
		if passes(t.Threshold.Op, g.Result, t.Threshold.Value) {
			fired = append(fired, g)
		}
	}
	was := ts.Triggered
	if len(fired) > 0 {
		ts.Consecutive = min(ts.Consecutive+1, max(t.Threshold.ExceededLimit, 1))
	} else {
		ts.Consecutive = 0
	}
	ts.Triggered = ts.Consecutive >= max(t.Threshold.ExceededLimit, 1)
	ts.LastEvaluated = now.UTC()
	v, _ := json.Marshal(ts)
	if _, err := e.state.Put(ctx, state.Record{Kind: apiquery.TriggerStateKind, Scope: st.Env, Key: st.Key, Value: v}, version); err != nil {
		if errors.Is(err, state.ErrConflict) {
			return nil // another node stored this evaluation first
		}
		return err
	}
	notify := ts.Triggered != was // on_change
	if t.AlertType == "on_true" {
		notify = ts.Triggered || was
	}
	if notify {
		if groups == nil {
			groups = []Group{}
		}
		if fired == nil || !ts.Triggered {
			fired = []Group{}
		}
		e.notify(ctx, st, ts.Triggered, groups, fired, e.resultURL(t))
	}
	return nil
}

// Group is one group of a trigger's result: its breakdown values and the
// calculation's value, as Honeycomb's webhook payload names them.
type Group struct {
	Group  map[string]any `json:"Group"`
	Result float64        `json:"Result"`
}

// againstBaseline turns the groups of a trigger with a baseline threshold
// into their change since the baseline's offset: the query run again as
// of then, each group's value now minus its value then ("value"), or that
// over its value now, in percent ("percentage"). A group without a value
// then (or, for a percentage, with none now) has no change to compare
// and is left out.
func (e *Evaluator) againstBaseline(ctx context.Context, st apiquery.StoredTrigger, now time.Time, groups []Group) ([]Group, error) {
	b, err := apiquery.ParseBaseline(st.Trigger.BaselineDetails)
	if err != nil {
		return nil, err
	}
	past, err := e.run(ctx, st, now.Add(-time.Duration(b.OffsetMinutes)*time.Minute))
	if err != nil {
		return nil, err
	}
	then := make(map[string]float64, len(past))
	for _, g := range past {
		then[groupKey(g)] = g.Result
	}
	var out []Group
	for _, g := range groups {
		was, ok := then[groupKey(g)]
		if !ok {
			continue
		}
		change := g.Result - was
		if b.Type == "percentage" {
			if g.Result == 0 {
				continue
			}
			change = change / g.Result * 100
		}
		out = append(out, Group{Group: g.Group, Result: change})
	}
	return out, nil
}

// groupKey identifies a group by its breakdown values.
func groupKey(g Group) string {
	b, _ := json.Marshal(g.Group) // maps marshal with sorted keys
	return string(b)
}

// run runs the trigger's query as the Query API runs a saved query and
// returns its groups (one without breakdowns). A group without a value
// (no events) is left out.
func (e *Evaluator) run(ctx context.Context, st apiquery.StoredTrigger, now time.Time) ([]Group, error) {
	spec, err := apiquery.TriggerSpec(st.Trigger)
	if err != nil {
		return nil, err
	}
	ds := st.Trigger.DatasetSlug
	plan, err := apiquery.PlanSpec(ctx, e.state, st.Env, ds, spec, now)
	if err != nil {
		return nil, err
	}
	if len(plan.Labels) != 1 {
		return nil, fmt.Errorf("trigger %s: %d calculations, want 1", st.Trigger.ID, len(plan.Labels))
	}
	qctx, cancel := context.WithTimeout(ctx, e.cfg.QueryTimeout)
	defer cancel()
	data, err := query.Run(qctx, e.store, st.Env, plan, query.RunOptions{Dataset: ds, DisableSeries: true})
	if err != nil {
		return nil, err
	}
	label := plan.Labels[0]
	var out []Group
	for _, row := range data.Results {
		v, ok := number(row.Data[label])
		if !ok {
			continue
		}
		g := Group{Group: map[string]any{}, Result: v}
		for _, b := range spec.Breakdowns {
			g.Group[b] = row.Data[b]
		}
		out = append(out, g)
	}
	return out, nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func passes(op string, v, threshold float64) bool {
	switch op {
	case ">":
		return v > threshold
	case ">=":
		return v >= threshold
	case "<":
		return v < threshold
	case "<=":
		return v <= threshold
	}
	return false
}

// inWindow reports whether a trigger of evaluation schedule type window
// is in its window at now (UTC); a frequency trigger always is. A window
// whose end is before its start ends the next day.
func inWindow(t apiquery.Trigger, now time.Time) bool {
	if t.EvaluationScheduleType != "window" || t.EvaluationSchedule == nil {
		return true
	}
	w := t.EvaluationSchedule.Window
	now = now.UTC()
	start, err1 := time.Parse("15:04", w.StartTime)
	end, err2 := time.Parse("15:04", w.EndTime)
	if err1 != nil || err2 != nil {
		return false
	}
	minute := now.Hour()*60 + now.Minute()
	s, en := start.Hour()*60+start.Minute(), end.Hour()*60+end.Minute()
	day := strings.ToLower(now.Weekday().String())
	if s < en {
		return slices.Contains(w.DaysOfWeek, day) && minute >= s && minute < en
	}
	if minute >= s {
		return slices.Contains(w.DaysOfWeek, day)
	}
	yesterday := strings.ToLower(now.AddDate(0, 0, -1).Weekday().String())
	return minute < en && slices.Contains(w.DaysOfWeek, yesterday)
}

func (e *Evaluator) resultURL(t apiquery.Trigger) string {
	return e.uiURL("/query", url.Values{"dataset": {t.DatasetSlug}, "query": {t.QueryID}})
}

// uiURL links to a page of the UI with its query parameters.
func (e *Evaluator) uiURL(page string, q url.Values) string {
	return strings.TrimRight(e.cfg.UIURL, "/") + page + "?" + q.Encode()
}
