package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/notify"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// SLOInterval is how often the burn alerts of an SLO are evaluated.
const SLOInterval = time.Minute

// ExhaustionLookback is the window whose failure rate an exhaustion_time
// alert projects the remaining budget at: a quarter of its exhaustion
// time, at least one minute.
func ExhaustionLookback(minutes int) time.Duration {
	return max(time.Duration(minutes)*time.Minute/4, time.Minute)
}

// BurnPayload is the webhook body of a burn alert notification. Honeycomb
// documents the variables a burn alert's custom template sees but not
// its default body; this one follows the trigger payload's fields
// (version, shared_secret, id, name, status, summary, description,
// is_test) and adds the SLO's figures.
type BurnPayload struct {
	Version      string `json:"version"`
	SharedSecret string `json:"shared_secret"`
	ID           string `json:"id"` // the burn alert's
	// Name is the SLO's name.
	Name        string `json:"name"`
	Type        string `json:"type"` // exhaustion_time or budget_rate
	Status      string `json:"status"`
	Summary     string `json:"summary"`
	Description string `json:"description"`
	SLOID       string `json:"slo_id"`
	SLOURL      string `json:"slo_url"`
	// BudgetRemaining is the percentage of the SLO's error budget left.
	BudgetRemaining float64 `json:"budget_remaining"`
	Compliance      float64 `json:"compliance"`
	// ExhaustionMinutes is the alert's threshold; MinutesToExhaustion the
	// projection (absent when the budget is not being spent).
	ExhaustionMinutes   *int     `json:"exhaustion_minutes,omitempty"`
	MinutesToExhaustion *float64 `json:"minutes_to_exhaustion,omitempty"`
	// The budget_rate alert's window and threshold, and the budget spent
	// in the window (per million of the period's budget).
	BudgetRateWindowMinutes               *int     `json:"budget_rate_window_minutes,omitempty"`
	BudgetRateDecreaseThresholdPerMillion *int     `json:"budget_rate_decrease_threshold_per_million,omitempty"`
	BudgetDecreasePerMillion              *float64 `json:"budget_decrease_per_million,omitempty"`
	IsTest                                bool     `json:"is_test"`
}

// burnEval is the evaluation of one burn alert.
type burnEval struct {
	triggered bool
	// minutesLeft is the projected time to exhaustion (+Inf when the
	// budget is not being spent); decrease the budget spent in the
	// budget_rate window, per million.
	minutesLeft, decrease float64
}

// evaluateBurn decides a burn alert of SLO s at now from the SLO's period
// counts and the counts of the alert's window.
func evaluateBurn(a apiquery.BurnAlert, s apiquery.SLO, period, window apiquery.SLOCounts, windowLen time.Duration) burnEval {
	allowed := float64(period.Total()) * float64(1_000_000-s.TargetPerMillion) / 1e6
	var ev burnEval
	switch a.AlertType {
	case apiquery.ExhaustionTime:
		left := allowed - float64(period.Bad)
		rate := float64(window.Bad) / windowLen.Minutes() // failures per minute
		switch {
		case period.Total() == 0:
			ev.minutesLeft = math.Inf(1)
		case left <= 0:
			ev.minutesLeft = 0
		case rate == 0:
			ev.minutesLeft = math.Inf(1)
		default:
			ev.minutesLeft = left / rate
		}
		ev.triggered = ev.minutesLeft <= float64(*a.ExhaustionMinutes)
	case apiquery.BudgetRate:
		if allowed > 0 {
			ev.decrease = float64(window.Bad) / allowed * 1e6
		}
		ev.triggered = ev.decrease >= float64(*a.BudgetRateDecreaseThresholdPerMillion)
	}
	return ev
}

// alertWindow is the window of counts a burn alert needs.
func alertWindow(a apiquery.BurnAlert) time.Duration {
	if a.AlertType == apiquery.BudgetRate {
		return time.Duration(*a.BudgetRateWindowMinutes) * time.Minute
	}
	return ExhaustionLookback(*a.ExhaustionMinutes)
}

// sloAlerts are the burn alerts of one SLO.
type sloAlerts struct {
	env, sloID string
	alerts     []apiquery.StoredBurnAlert
}

// tickBurnAlerts evaluates the burn alerts of every SLO that is due.
func (e *Evaluator) tickBurnAlerts(ctx context.Context) {
	list, err := apiquery.ListBurnAlerts(ctx, e.state)
	if err != nil {
		if ctx.Err() == nil {
			e.cfg.Logger.Error("listing burn alerts failed", "err", err)
		}
		return
	}
	var groups []*sloAlerts
	index := map[string]*sloAlerts{}
	for _, sa := range list {
		k := sa.Env + "\x00" + sa.Alert.SLO.ID
		g := index[k]
		if g == nil {
			g = &sloAlerts{env: sa.Env, sloID: sa.Alert.SLO.ID}
			index[k] = g
			groups = append(groups, g)
		}
		g.alerts = append(g.alerts, sa)
	}
	for _, g := range groups {
		if ctx.Err() != nil {
			return
		}
		if err := e.evaluateSLO(ctx, g); err != nil && ctx.Err() == nil {
			e.cfg.Logger.Error("evaluating burn alerts failed", "env", g.env, "slo", g.sloID, "err", err)
		}
	}
}

// readBurnState returns a burn alert's state and its record's version
// (state.MustNotExist when it has none).
func (e *Evaluator) readBurnState(ctx context.Context, sa apiquery.StoredBurnAlert) (apiquery.BurnAlertState, int64, error) {
	var bs apiquery.BurnAlertState
	rec, err := e.state.Get(ctx, apiquery.BurnAlertStateKind, sa.Env, sa.Key)
	if errors.Is(err, state.ErrNotFound) {
		return bs, state.MustNotExist, nil
	}
	if err != nil {
		return bs, 0, err
	}
	if err := json.Unmarshal(rec.Value, &bs); err != nil {
		return bs, 0, fmt.Errorf("burn alert state %s/%s: %w", sa.Env, sa.Key, err)
	}
	return bs, rec.Version, nil
}

// evaluateSLO evaluates the burn alerts of one SLO once per SLOInterval,
// under the state-store lease "slo/<env>/<id>" (one node evaluates it):
// one count over the SLO's period and one per distinct alert window.
func (e *Evaluator) evaluateSLO(ctx context.Context, g *sloAlerts) error {
	now := e.cfg.Now()
	due := func() (bool, error) {
		for _, sa := range g.alerts {
			bs, _, err := e.readBurnState(ctx, sa)
			if err != nil {
				return false, err
			}
			if bs.LastEvaluated.IsZero() || now.Sub(bs.LastEvaluated) >= SLOInterval {
				return true, nil
			}
		}
		return false, nil
	}
	if ok, err := due(); err != nil || !ok {
		return err
	}
	if ok, err := e.state.Acquire(ctx, "slo/"+g.env+"/"+g.sloID, e.cfg.Holder, SLOInterval); err != nil || !ok {
		return err // another node evaluates it
	}
	if ok, err := due(); err != nil || !ok {
		return err // another node evaluated it before this one took the lease
	}
	s, err := apiquery.GetSLO(ctx, e.state, g.env, g.sloID)
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(ctx, e.cfg.QueryTimeout)
	defer cancel()
	period, err := apiquery.CountSLO(qctx, e.store, e.state, g.env, s, apiquery.SLOPeriodStart(s, now), now)
	if err != nil {
		return err
	}
	windows := map[time.Duration]apiquery.SLOCounts{}
	for _, sa := range g.alerts {
		w := alertWindow(sa.Alert)
		if _, done := windows[w]; done {
			continue
		}
		if windows[w], err = apiquery.CountSLO(qctx, e.store, e.state, g.env, s, now.Add(-w), now); err != nil {
			return err
		}
	}
	for _, sa := range g.alerts {
		bs, version, err := e.readBurnState(ctx, sa)
		if err != nil {
			return err
		}
		w := alertWindow(sa.Alert)
		ev := evaluateBurn(sa.Alert, s, period, windows[w], w)
		was := bs.Triggered
		bs.Triggered, bs.LastEvaluated = ev.triggered, now.UTC()
		v, _ := json.Marshal(bs)
		if _, err := e.state.Put(ctx, state.Record{Kind: apiquery.BurnAlertStateKind, Scope: sa.Env, Key: sa.Key, Value: v}, version); err != nil {
			if errors.Is(err, state.ErrConflict) {
				continue // another node stored this evaluation first
			}
			return err
		}
		if bs.Triggered != was {
			e.notifyBurn(ctx, sa, s, period, ev)
		}
	}
	return nil
}

// burnPayload builds the notification of a burn alert of SLO s.
func (e *Evaluator) burnPayload(a apiquery.BurnAlert, s apiquery.SLO, period apiquery.SLOCounts, ev burnEval) BurnPayload {
	p := BurnPayload{Version: "v0.1.0", ID: a.ID, Name: s.Name, Type: a.AlertType, Status: StatusOK,
		SLOID: s.ID, SLOURL: e.sloURL(s), BudgetRemaining: period.BudgetRemaining(s), Compliance: period.Compliance(),
		Description: a.Description}
	if p.Description == "" {
		p.Description = s.Description
	}
	switch a.AlertType {
	case apiquery.ExhaustionTime:
		p.ExhaustionMinutes = a.ExhaustionMinutes
		if !math.IsInf(ev.minutesLeft, 1) {
			m := math.Round(ev.minutesLeft*100) / 100
			p.MinutesToExhaustion = &m
		}
		if ev.triggered {
			p.Status = StatusTriggered
			p.Summary = fmt.Sprintf("Triggered: %s: the error budget will be exhausted in %s or less", s.Name, minutesText(*a.ExhaustionMinutes))
		} else {
			p.Summary = fmt.Sprintf("Resolved: %s: the error budget lasts more than %s", s.Name, minutesText(*a.ExhaustionMinutes))
		}
	case apiquery.BudgetRate:
		p.BudgetRateWindowMinutes, p.BudgetRateDecreaseThresholdPerMillion = a.BudgetRateWindowMinutes, a.BudgetRateDecreaseThresholdPerMillion
		d := math.Round(ev.decrease)
		p.BudgetDecreasePerMillion = &d
		pct := float64(*a.BudgetRateDecreaseThresholdPerMillion) / 1e4
		if ev.triggered {
			p.Status = StatusTriggered
			p.Summary = fmt.Sprintf("Triggered: %s: the error budget dropped by %s%% or more in %s", s.Name, num(pct), minutesText(*a.BudgetRateWindowMinutes))
		} else {
			p.Summary = fmt.Sprintf("Resolved: %s: the error budget dropped by less than %s%% in %s", s.Name, num(pct), minutesText(*a.BudgetRateWindowMinutes))
		}
	}
	return p
}

func minutesText(m int) string {
	if m%60 == 0 && m > 0 {
		if m == 60 {
			return "1 hour"
		}
		return fmt.Sprintf("%d hours", m/60)
	}
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// sloURL links to the SLO's page in the UI.
func (e *Evaluator) sloURL(s apiquery.SLO) string {
	ds := query.AllDatasets
	if len(s.DatasetSlugs) == 1 {
		ds = s.DatasetSlugs[0]
	}
	return e.uiURL("/slos", url.Values{"dataset": {ds}, "slo": {s.ID}})
}

// notifyBurn sends a burn alert's change of state to its recipients:
// BurnPayload to webhooks, Honeycomb's burn alert template variables to
// custom templates
// (https://docs.honeycomb.io/integrations/webhooks/variables).
func (e *Evaluator) notifyBurn(ctx context.Context, sa apiquery.StoredBurnAlert, s apiquery.SLO, period apiquery.SLOCounts, ev burnEval) {
	a := sa.Alert
	p := e.burnPayload(a, s, period, ev)
	kind := notify.KindExhaustionTime
	if a.AlertType == apiquery.BudgetRate {
		kind = notify.KindBudgetRate
	}
	m := notify.Message{
		Kind: kind, Env: sa.Env, AlertID: a.ID, Triggered: ev.triggered,
		Name: s.Name, Summary: p.Summary, Description: p.Description, URL: p.SLOURL,
		Payload: p,
		Vars: map[string]any{
			"Name": s.Name, "ID": a.ID, "Description": p.Description, "URL": p.SLOURL,
			"Environment": sa.Env, "Datasets": s.DatasetSlugs,
			"SLO":   map[string]any{"ID": s.ID, "Name": s.Name, "BudgetRemaining": p.BudgetRemaining, "Compliance": p.Compliance},
			"Alert": map[string]any{"Type": a.AlertType, "Status": p.Status, "Summary": p.Summary, "Description": p.Description, "InstanceID": a.ID, "IsTest": false},
		},
	}
	e.sendTo(ctx, sa.Env, a.Recipients, m)
}
