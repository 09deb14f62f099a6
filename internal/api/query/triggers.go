package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// Trigger is a Honeycomb trigger: a query with one calculation, checked
// against a threshold every frequency seconds. internal/alerting
// evaluates it; triggered is its stored state (TriggerState).
type Trigger struct {
	ID                     string             `json:"id"`
	DatasetSlug            string             `json:"dataset_slug"`
	Name                   string             `json:"name"`
	Description            string             `json:"description"`
	Threshold              TriggerThreshold   `json:"threshold"`
	Frequency              int64              `json:"frequency"`
	AlertType              string             `json:"alert_type"`
	Disabled               bool               `json:"disabled"`
	Triggered              bool               `json:"triggered"`
	Recipients             []TriggerRecipient `json:"recipients"`
	EvaluationScheduleType string             `json:"evaluation_schedule_type"`
	EvaluationSchedule     *EvaluationWindow  `json:"evaluation_schedule,omitempty"`
	BaselineDetails        json.RawMessage    `json:"baseline_details,omitempty"`
	Tags                   json.RawMessage    `json:"tags,omitempty"`
	QueryID                string             `json:"query_id"`
	Query                  json.RawMessage    `json:"query"`
	CreatedAt              time.Time          `json:"created_at"`
	UpdatedAt              time.Time          `json:"updated_at"`
}

// TriggerThreshold is when a trigger fires: the calculation's value
// compared by Op with Value, ExceededLimit evaluations in a row.
type TriggerThreshold struct {
	Op            string  `json:"op"`
	Value         float64 `json:"value"`
	ExceededLimit int     `json:"exceeded_limit"`
}

// TriggerRecipient names a recipient of the Recipients API by id; Type
// and Target are filled from it, Details (e.g. pagerduty_severity) kept
// as given.
type TriggerRecipient struct {
	ID      string          `json:"id"`
	Type    string          `json:"type,omitempty"`
	Target  string          `json:"target,omitempty"`
	Details json.RawMessage `json:"details,omitempty"`
}

// EvaluationWindow is the schedule of a trigger of evaluation schedule
// type window: evaluated only on those days between those times (UTC).
type EvaluationWindow struct {
	Window struct {
		DaysOfWeek []string `json:"days_of_week"`
		StartTime  string   `json:"start_time"`
		EndTime    string   `json:"end_time"`
	} `json:"window"`
}

// kindTrigger is the state kind of triggers: scoped to the environment,
// keyed "<dataset>/<id>" as markers are.
const kindTrigger state.Kind = "honeycomb.trigger"

// Honeycomb's bounds of a trigger
// (https://docs.honeycomb.io/api/tag/Triggers/): name 1–120 characters,
// description at most 1023, frequency 60–86400 seconds in steps of 60
// (default 900), exceeded_limit 1–5 (default 1).
const (
	maxTriggerName        = 120
	maxTriggerDescription = 1023
	minTriggerFrequency   = 60
	maxTriggerFrequency   = 86400
	defaultTriggerFreq    = 900
	maxExceededLimit      = 5
)

var weekdays = []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}

// fieldProblem is a validation failure of a configuration object (trigger,
// SLO, burn alert) naming its field; answered 422.
type fieldProblem struct{ field, code, msg string }

func (p *fieldProblem) Error() string { return p.field + ": " + p.msg }

func badField(field, format string, args ...any) *fieldProblem {
	return &fieldProblem{field: field, code: "invalid", msg: fmt.Sprintf(format, args...)}
}

func missingField(field string) *fieldProblem {
	return &fieldProblem{field: field, code: "missing", msg: "is required"}
}

// triggerInput is a trigger as the request gives it.
type triggerInput struct {
	Name        *string `json:"name"`
	Description string  `json:"description"`
	Threshold   *struct {
		Op            string   `json:"op"`
		Value         *float64 `json:"value"`
		ExceededLimit *int     `json:"exceeded_limit"`
	} `json:"threshold"`
	Frequency              *int64             `json:"frequency"`
	AlertType              string             `json:"alert_type"`
	Disabled               bool               `json:"disabled"`
	Recipients             []TriggerRecipient `json:"recipients"`
	EvaluationScheduleType string             `json:"evaluation_schedule_type"`
	EvaluationSchedule     *EvaluationWindow  `json:"evaluation_schedule"`
	BaselineDetails        json.RawMessage    `json:"baseline_details"`
	Tags                   json.RawMessage    `json:"tags"`
	QueryID                string             `json:"query_id"`
	Query                  json.RawMessage    `json:"query"`
}

// checkTrigger validates everything a trigger carries but its query and
// its recipients' existence (which need the state store), and returns
// the trigger with defaults applied.
func checkTrigger(in triggerInput) (Trigger, error) {
	var t Trigger
	if err := checkNamed(in.Name, in.Description, maxTriggerName, maxTriggerDescription); err != nil {
		return t, err
	}
	switch {
	case in.Threshold == nil:
		return t, missingField("threshold")
	case in.Threshold.Op == "":
		return t, missingField("threshold.op")
	case !slices.Contains([]string{">", ">=", "<", "<="}, in.Threshold.Op):
		return t, badField("threshold.op", "must be one of >, >=, <, <=, got %q", in.Threshold.Op)
	case in.Threshold.Value == nil:
		return t, missingField("threshold.value")
	case in.Threshold.ExceededLimit != nil && (*in.Threshold.ExceededLimit < 1 || *in.Threshold.ExceededLimit > maxExceededLimit):
		return t, badField("threshold.exceeded_limit", "must be between 1 and %d, got %d", maxExceededLimit, *in.Threshold.ExceededLimit)
	}
	t.Name, t.Description, t.Disabled = *in.Name, in.Description, in.Disabled
	t.Threshold = TriggerThreshold{Op: in.Threshold.Op, Value: *in.Threshold.Value, ExceededLimit: 1}
	if in.Threshold.ExceededLimit != nil {
		t.Threshold.ExceededLimit = *in.Threshold.ExceededLimit
	}
	t.Frequency = defaultTriggerFreq
	if in.Frequency != nil {
		t.Frequency = *in.Frequency
	}
	if t.Frequency < minTriggerFrequency || t.Frequency > maxTriggerFrequency || t.Frequency%60 != 0 {
		return t, badField("frequency", "must be a multiple of 60 between %d and %d seconds, got %d", minTriggerFrequency, maxTriggerFrequency, t.Frequency)
	}
	switch in.AlertType {
	case "", "on_change":
		t.AlertType = "on_change"
	case "on_true":
		t.AlertType = "on_true"
	default:
		return t, badField("alert_type", "must be on_change or on_true, got %q", in.AlertType)
	}
	switch in.EvaluationScheduleType {
	case "", "frequency":
		t.EvaluationScheduleType = "frequency"
	case "window":
		t.EvaluationScheduleType = "window"
		if err := checkWindow(in.EvaluationSchedule); err != nil {
			return t, err
		}
		t.EvaluationSchedule = in.EvaluationSchedule
	default:
		return t, badField("evaluation_schedule_type", "must be frequency or window, got %q", in.EvaluationScheduleType)
	}
	if len(in.Recipients) == 0 {
		t.Recipients = []TriggerRecipient{}
	}
	// Honeycomb's type+target recipients are deprecated; here a recipient
	// is made with the Recipients API and named by id.
	if err := checkRecipientRefs(in.Recipients); err != nil {
		return t, err
	}
	for _, ref := range in.Recipients {
		t.Recipients = append(t.Recipients, TriggerRecipient{ID: ref.ID, Details: ref.Details})
	}
	if isJSONNull(in.BaselineDetails) || bytes.Equal(bytes.Join(bytes.Fields(in.BaselineDetails), nil), []byte("{}")) {
		in.BaselineDetails = nil // {} clears the baseline
	} else if _, err := ParseBaseline(in.BaselineDetails); err != nil {
		return t, err
	}
	if isJSONNull(in.Tags) {
		in.Tags = nil
	}
	t.BaselineDetails, t.Tags = in.BaselineDetails, in.Tags
	return t, nil
}

// Baseline is a trigger's dynamic baseline threshold: the threshold is
// compared with the change of the calculation since OffsetMinutes ago,
// by Type: "value" (now - then) or "percentage" ((now - then) / now ×
// 100, the documented (b-a)/b).
type Baseline struct {
	OffsetMinutes int    `json:"offset_minutes"`
	Type          string `json:"type"`
}

// ParseBaseline reads and checks baseline_details: offset_minutes 60,
// 1440, 10080 or 40320 (an hour, a day, a week, 28 days back) and type
// percentage or value.
func ParseBaseline(raw json.RawMessage) (Baseline, error) {
	var b Baseline
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, badField("baseline_details", "%v", err)
	}
	if !slices.Contains([]int{60, 1440, 10080, 40320}, b.OffsetMinutes) {
		return b, badField("baseline_details.offset_minutes", "must be 60, 1440, 10080 or 40320, got %d", b.OffsetMinutes)
	}
	if b.Type != "percentage" && b.Type != "value" {
		return b, badField("baseline_details.type", "must be percentage or value, got %q", b.Type)
	}
	return b, nil
}

func isJSONNull(b json.RawMessage) bool {
	return len(b) == 0 || bytes.Equal(bytes.TrimSpace(b), []byte("null"))
}

func checkWindow(s *EvaluationWindow) error {
	if s == nil {
		return missingField("evaluation_schedule")
	}
	win := s.Window
	if len(win.DaysOfWeek) == 0 {
		return missingField("evaluation_schedule.window.days_of_week")
	}
	for i, d := range win.DaysOfWeek {
		if !slices.Contains(weekdays, d) {
			return badField(fmt.Sprintf("evaluation_schedule.window.days_of_week[%d]", i), "must be a day of the week in lower case (sunday … saturday), got %q", d)
		}
	}
	for _, f := range []struct{ name, v string }{{"start_time", win.StartTime}, {"end_time", win.EndTime}} {
		field := "evaluation_schedule.window." + f.name
		if f.v == "" {
			return missingField(field)
		}
		if _, err := time.Parse("15:04", f.v); err != nil || len(f.v) != 5 {
			return badField(field, "must be a time of day HH:MM (UTC), got %q", f.v)
		}
	}
	if win.StartTime == win.EndTime {
		return badField("evaluation_schedule.window.end_time", "must differ from start_time")
	}
	return nil
}

// checkTriggerQuery checks a query for a trigger as Honeycomb's Triggers
// API documents (https://docs.honeycomb.io/api/tag/Triggers/): a valid
// spec with exactly one calculation, neither HEATMAP nor CONCURRENCY, a
// relative time range between the frequency and the lesser of four times
// the frequency and a day, at most one having, and no orders, limit,
// usage_mode or granularity.
// prefix names the query in problems ("query." or "").
func checkTriggerQuery(s *query.Spec, frequency int64, prefix string) error {
	if err := s.Validate(); err != nil {
		var e *query.Error
		if errors.As(err, &e) {
			field := "query"
			if e.Field != "" {
				field = prefix + e.Field
			}
			return &fieldProblem{field: field, code: e.Code, msg: e.Msg}
		}
		return badField("query", "%s", err.Error())
	}
	switch {
	case len(s.Formulas) > 0:
		return badField(prefix+"formulas", "a trigger checks its query's one calculation; formulas are not supported in triggers")
	case len(s.Calculations) != 1:
		return badField(prefix+"calculations", "a trigger's query must have exactly one calculation, got %d", len(s.Calculations))
	case strings.EqualFold(s.Calculations[0].Op, "HEATMAP"), strings.EqualFold(s.Calculations[0].Op, "CONCURRENCY"):
		return badField(prefix+"calculations[0].op", "a trigger cannot use %s", strings.ToUpper(s.Calculations[0].Op))
	case s.StartTime != nil:
		return badField(prefix+"start_time", "a trigger's query must use a relative time_range")
	case s.EndTime != nil:
		return badField(prefix+"end_time", "a trigger's query must use a relative time_range")
	case len(s.Havings) > 1:
		return badField(prefix+"havings", "a trigger's query may have at most one having, got %d", len(s.Havings))
	}
	switch {
	case len(s.Orders) > 0:
		return badField(prefix+"orders", "a trigger's query cannot have orders: its groups are ordered by the threshold")
	case s.Limit != nil:
		return badField(prefix+"limit", "a trigger's query cannot have a limit: every group is evaluated")
	case s.UsageMode:
		return badField(prefix+"usage_mode", "a trigger's query cannot use usage_mode")
	case s.Granularity != nil:
		return badField(prefix+"granularity", "a trigger's query on a dataset of events cannot have a granularity")
	}
	duration := int64(query.DefaultRange)
	if s.TimeRange != nil {
		duration = *s.TimeRange
	}
	if limit := min(frequency*4, 86400); duration < frequency || duration > limit {
		return badField(prefix+"time_range", "the query's duration (%d s) must be between the frequency (%d s) and the lesser of four times the frequency and a day, %d s", duration, frequency, limit)
	}
	return nil
}

// recipientTarget is what a trigger shows of a recipient as its target.
func recipientTarget(rc Recipient) string {
	for _, f := range []string{"email_address", "slack_channel", "pagerduty_integration_name", "webhook_name"} {
		if s, ok := rc.Details[f].(string); ok {
			return s
		}
	}
	return ""
}

// decodeTrigger reads and checks a trigger; the query and recipients are
// checked by saveTrigger.
func decodeTrigger(w http.ResponseWriter, r *http.Request) (Trigger, triggerInput, bool) {
	var in triggerInput
	if !decodeInput(w, r, &in, "trigger") {
		return Trigger{}, in, false
	}
	t, err := checkTrigger(in)
	if err != nil {
		writeFieldProblem(w, err)
		return Trigger{}, in, false
	}
	hasQuery := !isJSONNull(in.Query)
	switch {
	case !hasQuery && in.QueryID == "":
		writeProblem(w, "query", "missing", "query: a query or a query_id is required")
		return Trigger{}, in, false
	case hasQuery && in.QueryID != "":
		writeProblem(w, "query_id", "invalid", "query_id: give either a query or a query_id, not both")
		return Trigger{}, in, false
	}
	return t, in, true
}

func writeFieldProblem(w http.ResponseWriter, err error) {
	var p *fieldProblem
	if errors.As(err, &p) {
		writeProblem(w, p.field, p.code, p.Error())
		return
	}
	api.WriteError(w, http.StatusBadRequest, err.Error())
}

func (h *handler) triggerFailed(w http.ResponseWriter, err error) {
	var p *fieldProblem
	if errors.As(err, &p) {
		writeFieldProblem(w, err)
		return
	}
	h.objectFailed(w, "trigger", err)
}

// resolveTrigger, inside a transaction, checks the trigger's query (an
// inline one is saved as a query, as POST /1/queries would, so the
// trigger has its query_id) and recipients. A problem is returned as a
// *fieldProblem, so the transaction writes nothing.
func (h *handler) resolveTrigger(tx state.Tx, e string, t *Trigger, in triggerInput) error {
	var spec query.Spec
	if in.QueryID != "" {
		rec, err := tx.Get(kindQuery, e, in.QueryID)
		if errors.Is(err, state.ErrNotFound) {
			return badField("query_id", "no query %s in this environment", in.QueryID)
		}
		if err != nil {
			return err
		}
		if spec, err = query.DecodeSpec(bytes.NewReader(rec.Value)); err != nil {
			return fmt.Errorf("stored query %s: %w", in.QueryID, err)
		}
		if err := checkTriggerQuery(&spec, t.Frequency, ""); err != nil {
			p := err.(*fieldProblem)
			return badField("query_id", "query %s: %s", in.QueryID, p.Error())
		}
		t.QueryID = in.QueryID
	} else {
		var err error
		if spec, err = query.DecodeSpec(bytes.NewReader(in.Query)); err != nil {
			var qe *query.Error
			if errors.As(err, &qe) && qe.Field != "" {
				return &fieldProblem{field: "query." + qe.Field, code: qe.Code, msg: qe.Msg}
			}
			return badField("query", "%s", err.Error())
		}
		if err := checkTriggerQuery(&spec, t.Frequency, "query."); err != nil {
			return err
		}
		t.QueryID = queryID(e, &spec)
		if _, err := tx.Get(kindQuery, e, t.QueryID); errors.Is(err, state.ErrNotFound) {
			n, err := tx.Count(kindQuery, e)
			if err != nil {
				return err
			}
			if n >= h.d.MaxQueries {
				return badField("query", "an environment holds at most %d queries", h.d.MaxQueries)
			}
			if _, err := tx.Put(state.Record{Kind: kindQuery, Scope: e, Key: t.QueryID, Value: spec.MarshalCanonical()}, state.MustNotExist); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
	}
	t.Query = spec.MarshalCanonical()
	return resolveRecipients(tx, e, t.Recipients)
}

// resolveRecipients, inside a transaction, checks that each referenced
// recipient exists and fills in its type and target.
func resolveRecipients(tx state.Tx, e string, refs []TriggerRecipient) error {
	for i := range refs {
		ref := &refs[i]
		rec, err := tx.Get(kindRecipient, e, ref.ID)
		if errors.Is(err, state.ErrNotFound) {
			return badField(fmt.Sprintf("recipients[%d].id", i), "no recipient %s", ref.ID)
		}
		if err != nil {
			return err
		}
		var rc Recipient
		if err := json.Unmarshal(rec.Value, &rc); err != nil {
			return err
		}
		ref.Type, ref.Target = rc.Type, recipientTarget(rc)
	}
	return nil
}

// checkTriggerColumns checks, before the trigger is saved, that its query
// (inline or by query_id) names only columns of dataset ds.
func (h *handler) checkTriggerColumns(ctx context.Context, e, ds string, in triggerInput) error {
	var spec query.Spec
	var err error
	prefix := "query."
	if in.QueryID != "" {
		rec, err := h.d.State.Get(ctx, kindQuery, e, in.QueryID)
		if errors.Is(err, state.ErrNotFound) {
			return nil // resolveTrigger names the missing query
		}
		if err != nil {
			return err
		}
		if spec, err = query.DecodeSpec(bytes.NewReader(rec.Value)); err != nil {
			return nil
		}
		prefix = ""
	} else if spec, err = query.DecodeSpec(bytes.NewReader(in.Query)); err != nil {
		return nil // resolveTrigger names the problem
	}
	if err := h.checkSpecColumns(ctx, e, ds, spec, prefix); err != nil {
		var p *fieldProblem
		if errors.As(err, &p) && in.QueryID != "" {
			return badField("query_id", "query %s: %s", in.QueryID, p.Error())
		}
		return err
	}
	return nil
}

func (h *handler) createTrigger(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	t, in, ok := decodeTrigger(w, r)
	if !ok {
		return
	}
	e, ds := env(r), markerDataset(r)
	if err := h.checkTriggerColumns(r.Context(), e, ds, in); err != nil {
		h.triggerFailed(w, err)
		return
	}
	now := h.d.Now().UTC()
	t.ID, t.DatasetSlug, t.CreatedAt, t.UpdatedAt = randomID(6), ds, now, now
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if err := h.resolveTrigger(tx, e, &t, in); err != nil {
			return err
		}
		v, _ := json.Marshal(t)
		_, err := tx.Put(state.Record{Kind: kindTrigger, Scope: e, Key: markerKey(ds, t.ID), Value: v}, state.MustNotExist)
		return err
	})
	if err != nil {
		h.triggerFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, t)
}

func (h *handler) listTriggers(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	recs, err := h.d.State.List(r.Context(), kindTrigger, env(r))
	if err != nil {
		h.triggerFailed(w, err)
		return
	}
	ds := markerDataset(r)
	out := []Trigger{}
	for _, rec := range recs {
		var t Trigger
		if strings.HasPrefix(rec.Key, ds+"/") && json.Unmarshal(rec.Value, &t) == nil {
			t.Triggered = triggered(r.Context(), h.d.State, rec.Scope, rec.Key)
			out = append(out, t)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) getTrigger(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	rec, err := h.d.State.Get(r.Context(), kindTrigger, env(r), markerKey(markerDataset(r), r.PathValue("id")))
	if err != nil {
		h.triggerFailed(w, err)
		return
	}
	var t Trigger
	if err := json.Unmarshal(rec.Value, &t); err != nil {
		h.triggerFailed(w, err)
		return
	}
	t.Triggered = triggered(r.Context(), h.d.State, rec.Scope, rec.Key)
	api.WriteJSON(w, http.StatusOK, t)
}

// updateTrigger replaces the trigger (Honeycomb's PUT is not partial),
// keeping its id and created_at.
func (h *handler) updateTrigger(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	t, in, ok := decodeTrigger(w, r)
	if !ok {
		return
	}
	e, ds, id := env(r), markerDataset(r), r.PathValue("id")
	if err := h.checkTriggerColumns(r.Context(), e, ds, in); err != nil {
		h.triggerFailed(w, err)
		return
	}
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindTrigger, e, markerKey(ds, id))
		if err != nil {
			return err
		}
		var old Trigger
		if err := json.Unmarshal(rec.Value, &old); err != nil {
			return err
		}
		t.ID, t.DatasetSlug, t.CreatedAt, t.UpdatedAt = old.ID, old.DatasetSlug, old.CreatedAt, h.d.Now().UTC()
		if err := h.resolveTrigger(tx, e, &t, in); err != nil {
			return err
		}
		v, _ := json.Marshal(t)
		_, err = tx.Put(state.Record{Kind: kindTrigger, Scope: e, Key: markerKey(ds, id), Value: v}, rec.Version)
		return err
	})
	if err != nil {
		h.triggerFailed(w, err)
		return
	}
	t.Triggered = triggered(r.Context(), h.d.State, e, markerKey(ds, id))
	api.WriteJSON(w, http.StatusOK, t)
}

func (h *handler) deleteTrigger(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	e, key := env(r), markerKey(markerDataset(r), r.PathValue("id"))
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		return deleteWithState(tx, kindTrigger, TriggerStateKind, e, key, state.AnyVersion)
	})
	if err != nil {
		h.triggerFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
