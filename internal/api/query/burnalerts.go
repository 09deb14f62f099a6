package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/state"
)

// BurnAlert is a Honeycomb burn alert (https://docs.honeycomb.io/api/burn-alerts/):
// a notification when an SLO's error budget is about to run out
// (exhaustion_time: the budget left, spent at the recent rate, lasts at
// most exhaustion_minutes) or drops fast (budget_rate: at least
// budget_rate_decrease_threshold_per_million of it spent in the last
// budget_rate_window_minutes). internal/alerting evaluates it; Triggered
// is its stored state (BurnAlertState).
type BurnAlert struct {
	ID                                    string             `json:"id"`
	AlertType                             string             `json:"alert_type"`
	Description                           string             `json:"description"`
	Triggered                             bool               `json:"triggered"`
	ExhaustionMinutes                     *int               `json:"exhaustion_minutes,omitempty"`
	BudgetRateWindowMinutes               *int               `json:"budget_rate_window_minutes,omitempty"`
	BudgetRateDecreaseThresholdPerMillion *int               `json:"budget_rate_decrease_threshold_per_million,omitempty"`
	SLO                                   BurnAlertSLO       `json:"slo"`
	Recipients                            []TriggerRecipient `json:"recipients"`
	CreatedAt                             time.Time          `json:"created_at"`
	UpdatedAt                             time.Time          `json:"updated_at"`
}

// BurnAlertSLO names a burn alert's SLO.
type BurnAlertSLO struct {
	ID string `json:"id"`
}

// Burn alert types.
const (
	ExhaustionTime = "exhaustion_time"
	BudgetRate     = "budget_rate"
)

// kindBurnAlert is the state kind of burn alerts: scoped to the
// environment, keyed "<slo id>/<id>".
const kindBurnAlert state.Kind = "honeycomb.burn-alert"

// BurnAlertStateKind is the state kind of burn alerts' evaluation state
// (BurnAlertState), keyed as the burn alert. internal/alerting writes it.
const BurnAlertStateKind state.Kind = "honeycomb.burn-alert-state"

// BurnAlertState is what the evaluation of a burn alert keeps.
type BurnAlertState struct {
	Triggered     bool      `json:"triggered"`
	LastEvaluated time.Time `json:"last_evaluated"`
}

// StoredBurnAlert is a burn alert with its environment and state key.
type StoredBurnAlert struct {
	Env, Key string
	Alert    BurnAlert
}

// ListBurnAlerts returns the burn alerts of every environment.
func ListBurnAlerts(ctx context.Context, ss state.Store) ([]StoredBurnAlert, error) {
	recs, err := ss.ListAll(ctx, kindBurnAlert)
	if err != nil {
		return nil, err
	}
	out := make([]StoredBurnAlert, 0, len(recs))
	for _, rec := range recs {
		var a BurnAlert
		if err := json.Unmarshal(rec.Value, &a); err != nil {
			return nil, fmt.Errorf("stored burn alert %s/%s: %w", rec.Scope, rec.Key, err)
		}
		out = append(out, StoredBurnAlert{Env: rec.Scope, Key: rec.Key, Alert: a})
	}
	return out, nil
}

// burnAlertsOf returns the burn alerts of SLO sloID with their state.
func burnAlertsOf(ctx context.Context, ss state.Store, e, sloID string) ([]BurnAlert, error) {
	recs, err := ss.List(ctx, kindBurnAlert, e)
	if err != nil {
		return nil, err
	}
	out := []BurnAlert{}
	for _, rec := range recs {
		var a BurnAlert
		if strings.HasPrefix(rec.Key, sloID+"/") && json.Unmarshal(rec.Value, &a) == nil {
			a.Triggered = burnTriggered(ctx, ss, e, rec.Key)
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

func burnTriggered(ctx context.Context, ss state.Store, e, key string) bool {
	rec, err := ss.Get(ctx, BurnAlertStateKind, e, key)
	if err != nil {
		return false
	}
	var st BurnAlertState
	return json.Unmarshal(rec.Value, &st) == nil && st.Triggered
}

// burnAlertInput is a burn alert as the request gives it.
type burnAlertInput struct {
	AlertType                             string             `json:"alert_type"`
	Description                           string             `json:"description"`
	ExhaustionMinutes                     *int               `json:"exhaustion_minutes"`
	BudgetRateWindowMinutes               *int               `json:"budget_rate_window_minutes"`
	BudgetRateDecreaseThresholdPerMillion *int               `json:"budget_rate_decrease_threshold_per_million"`
	SLO                                   *BurnAlertSLO      `json:"slo"`
	Recipients                            []TriggerRecipient `json:"recipients"`
}

// variableName is the pattern of a webhook variable's name in a
// recipient's details (Honeycomb's NotificationRecipientDetails).
var variableName = regexp.MustCompile(`^[a-z](?:[a-zA-Z0-9]+)?$`)

// checkRecipientRefs checks the per-alert details of recipient
// references: pagerduty_severity and webhook variables.
func checkRecipientRefs(refs []TriggerRecipient) error {
	for i, ref := range refs {
		if ref.ID == "" {
			return missingField(fmt.Sprintf("recipients[%d].id", i))
		}
		if isJSONNull(ref.Details) {
			continue
		}
		var d struct {
			Severity  *string `json:"pagerduty_severity"`
			Variables []struct {
				Name  string `json:"name"`
				Value string `json:"value"`
			} `json:"variables"`
		}
		if err := json.Unmarshal(ref.Details, &d); err != nil {
			return badField(fmt.Sprintf("recipients[%d].details", i), "%v", err)
		}
		if d.Severity != nil && !slices.Contains([]string{"critical", "error", "warning", "info"}, *d.Severity) {
			return badField(fmt.Sprintf("recipients[%d].details.pagerduty_severity", i), "must be critical, error, warning or info, got %q", *d.Severity)
		}
		for j, v := range d.Variables {
			field := fmt.Sprintf("recipients[%d].details.variables[%d]", i, j)
			if len(v.Name) > 64 || !variableName.MatchString(v.Name) {
				return badField(field+".name", "must start with a lowercase letter and hold only letters and digits (at most 64), got %q", v.Name)
			}
			if utf8.RuneCountInString(v.Value) > 256 {
				return badField(field+".value", "must be at most 256 characters")
			}
		}
	}
	return nil
}

// checkBurnAlert validates a burn alert against its SLO s.
func checkBurnAlert(in burnAlertInput, s SLO) (BurnAlert, error) {
	var a BurnAlert
	a.AlertType = in.AlertType
	if a.AlertType == "" {
		a.AlertType = ExhaustionTime
	}
	if utf8.RuneCountInString(in.Description) > 1023 {
		return a, badField("description", "must be at most 1023 characters")
	}
	switch a.AlertType {
	case ExhaustionTime:
		switch {
		case in.ExhaustionMinutes == nil:
			return a, missingField("exhaustion_minutes")
		case *in.ExhaustionMinutes < 0:
			return a, badField("exhaustion_minutes", "must be at least 0, got %d", *in.ExhaustionMinutes)
		case in.BudgetRateWindowMinutes != nil:
			return a, badField("budget_rate_window_minutes", "must not be given for an exhaustion_time alert")
		case in.BudgetRateDecreaseThresholdPerMillion != nil:
			return a, badField("budget_rate_decrease_threshold_per_million", "must not be given for an exhaustion_time alert")
		}
		a.ExhaustionMinutes = in.ExhaustionMinutes
	case BudgetRate:
		periodMinutes := s.TimePeriodDays * 24 * 60
		switch {
		case in.ExhaustionMinutes != nil:
			return a, badField("exhaustion_minutes", "must not be given for a budget_rate alert")
		case in.BudgetRateWindowMinutes == nil:
			return a, missingField("budget_rate_window_minutes")
		case *in.BudgetRateWindowMinutes < 60 || *in.BudgetRateWindowMinutes > periodMinutes:
			return a, badField("budget_rate_window_minutes", "must be between 60 and the SLO's time period (%d minutes), got %d", periodMinutes, *in.BudgetRateWindowMinutes)
		case in.BudgetRateDecreaseThresholdPerMillion == nil:
			return a, missingField("budget_rate_decrease_threshold_per_million")
		case *in.BudgetRateDecreaseThresholdPerMillion < 1 || *in.BudgetRateDecreaseThresholdPerMillion > 1_000_000:
			return a, badField("budget_rate_decrease_threshold_per_million", "must be between 1 and 1000000, got %d", *in.BudgetRateDecreaseThresholdPerMillion)
		}
		a.BudgetRateWindowMinutes, a.BudgetRateDecreaseThresholdPerMillion = in.BudgetRateWindowMinutes, in.BudgetRateDecreaseThresholdPerMillion
	default:
		return a, badField("alert_type", "must be exhaustion_time or budget_rate, got %q", in.AlertType)
	}
	if len(in.Recipients) == 0 {
		return a, missingField("recipients")
	}
	if err := checkRecipientRefs(in.Recipients); err != nil {
		return a, err
	}
	a.Description, a.SLO = in.Description, BurnAlertSLO{ID: s.ID}
	for _, ref := range in.Recipients {
		a.Recipients = append(a.Recipients, TriggerRecipient{ID: ref.ID, Details: ref.Details})
	}
	return a, nil
}

func decodeBurnAlert(w http.ResponseWriter, r *http.Request) (burnAlertInput, bool) {
	var in burnAlertInput
	if !decodeInput(w, r, &in, "burn alert") {
		return in, false
	}
	return in, true
}

func (h *handler) burnAlertFailed(w http.ResponseWriter, err error) {
	var p *fieldProblem
	if errors.As(err, &p) {
		writeFieldProblem(w, err)
		return
	}
	h.objectFailed(w, "burn alert", err)
}

// findBurnAlert returns burn alert id of environment e whose SLO is seen
// from dataset path ds.
func (h *handler) findBurnAlert(ctx context.Context, e, ds, id string) (BurnAlert, SLO, state.Record, error) {
	recs, err := h.d.State.List(ctx, kindBurnAlert, e)
	if err != nil {
		return BurnAlert{}, SLO{}, state.Record{}, err
	}
	for _, rec := range recs {
		if !strings.HasSuffix(rec.Key, "/"+id) {
			continue
		}
		var a BurnAlert
		if err := json.Unmarshal(rec.Value, &a); err != nil {
			return a, SLO{}, rec, fmt.Errorf("stored burn alert %s: %w", rec.Key, err)
		}
		s, _, err := findSLO(ctx, h.d.State, e, ds, a.SLO.ID)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		a.Triggered = burnTriggered(ctx, h.d.State, e, rec.Key)
		return a, s, rec, err
	}
	return BurnAlert{}, SLO{}, state.Record{}, state.ErrNotFound
}

func (h *handler) createBurnAlert(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	in, ok := decodeBurnAlert(w, r)
	if !ok {
		return
	}
	if in.SLO == nil || in.SLO.ID == "" {
		writeProblem(w, "slo.id", "missing", "slo.id: is required")
		return
	}
	e := env(r)
	s, _, err := findSLO(r.Context(), h.d.State, e, ds, in.SLO.ID)
	if errors.Is(err, state.ErrNotFound) {
		writeProblem(w, "slo.id", "invalid", fmt.Sprintf("slo.id: no SLO %s in dataset %s", in.SLO.ID, ds))
		return
	}
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	a, err := checkBurnAlert(in, s)
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	now := h.d.Now().UTC()
	a.ID, a.CreatedAt, a.UpdatedAt = randomID(6), now, now
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if err := resolveRecipients(tx, e, a.Recipients); err != nil {
			return err
		}
		v, _ := json.Marshal(a)
		_, err := tx.Put(state.Record{Kind: kindBurnAlert, Scope: e, Key: s.ID + "/" + a.ID, Value: v}, state.MustNotExist)
		return err
	})
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, a)
}

// listBurnAlerts answers the burn alerts of the SLO of ?slo_id= (Honeycomb
// lists them per SLO only).
func (h *handler) listBurnAlerts(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	id := r.URL.Query().Get("slo_id")
	if id == "" {
		writeProblem(w, "slo_id", "missing", "slo_id: the query parameter is required")
		return
	}
	e := env(r)
	if _, _, err := findSLO(r.Context(), h.d.State, e, ds, id); err != nil {
		h.objectFailed(w, "SLO", err)
		return
	}
	list, err := burnAlertsOf(r.Context(), h.d.State, e, id)
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	// The list shows no recipients, as Honeycomb's list response.
	type listed struct {
		BurnAlert
		Recipients []TriggerRecipient `json:"recipients,omitempty"`
	}
	out := make([]listed, len(list))
	for i, a := range list {
		out[i] = listed{BurnAlert: a}
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) getBurnAlert(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	a, _, _, err := h.findBurnAlert(r.Context(), env(r), ds, r.PathValue("id"))
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, a)
}

// updateBurnAlert replaces the burn alert (PUT is not partial), keeping
// its id, SLO and created_at.
func (h *handler) updateBurnAlert(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	in, ok := decodeBurnAlert(w, r)
	if !ok {
		return
	}
	e := env(r)
	old, s, rec, err := h.findBurnAlert(r.Context(), e, ds, r.PathValue("id"))
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	if in.SLO != nil && in.SLO.ID != "" && in.SLO.ID != s.ID {
		writeProblem(w, "slo.id", "invalid", "slo.id: a burn alert cannot move to another SLO")
		return
	}
	a, err := checkBurnAlert(in, s)
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	a.ID, a.CreatedAt, a.UpdatedAt, a.Triggered = old.ID, old.CreatedAt, h.d.Now().UTC(), old.Triggered
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if err := resolveRecipients(tx, e, a.Recipients); err != nil {
			return err
		}
		stored := a
		stored.Triggered = false
		v, _ := json.Marshal(stored)
		_, err := tx.Put(state.Record{Kind: kindBurnAlert, Scope: e, Key: rec.Key, Value: v}, rec.Version)
		return err
	})
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, a)
}

func (h *handler) deleteBurnAlert(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	e := env(r)
	_, _, rec, err := h.findBurnAlert(r.Context(), e, ds, r.PathValue("id"))
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		return deleteWithState(tx, kindBurnAlert, BurnAlertStateKind, e, rec.Key, rec.Version)
	})
	if err != nil {
		h.burnAlertFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
