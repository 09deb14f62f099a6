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
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// SLO is a Honeycomb service level objective
// (https://docs.honeycomb.io/api/slos/): the share of qualified events,
// target_per_million of a million, whose SLI — a derived column that
// evaluates to true (success) or false (failure); events where it is
// neither do not qualify — must succeed over the last time_period_days.
// An SLO made under a dataset covers that dataset; one made under __all__
// names its datasets (1–10) and its SLI is an environment-wide derived
// column.
type SLO struct {
	ID               string     `json:"id"`
	Name             string     `json:"name"`
	Description      string     `json:"description"`
	SLI              SLI        `json:"sli"`
	TimePeriodDays   int        `json:"time_period_days"`
	TargetPerMillion int        `json:"target_per_million"`
	Tags             []Tag      `json:"tags"`
	ResetAt          *time.Time `json:"reset_at"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	DatasetSlugs     []string   `json:"dataset_slugs"`
}

// SLI names the derived column an SLO counts by.
type SLI struct {
	Alias string `json:"alias"`
}

// Tag is a key-value label of an SLO.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// SLODetailed is an SLO with its figures (GET …?detailed).
type SLODetailed struct {
	SLO
	Compliance      float64 `json:"compliance"`
	BudgetRemaining float64 `json:"budget_remaining"`
	Status          string  `json:"status"`
	BurnRate        float64 `json:"burn_rate"`
}

// kindSLO is the state kind of SLOs: scoped to the environment, keyed
// "<dataset>/<id>" where dataset is the path the SLO was made under (a
// slug, or __all__ for a multi-dataset SLO).
const kindSLO state.Kind = "honeycomb.slo"

// Honeycomb's bounds of an SLO (the SLO schema of its API reference).
const (
	maxSLOName        = 120
	maxSLODescription = 1023
	maxSLOAlias       = 255
	maxSLOTags        = 10
	maxSLODatasets    = 10
	// maxSLODays bounds time_period_days (Honeycomb gives only the
	// minimum, 1); the SLO history reaches a year back.
	maxSLODays = 366
)

var (
	tagKey   = regexp.MustCompile(`^[a-z]{1,32}$`)
	tagValue = regexp.MustCompile(`^[a-z][a-z0-9/-]{0,127}$`)
)

// sloInput is an SLO as the request gives it.
type sloInput struct {
	Name             *string  `json:"name"`
	Description      string   `json:"description"`
	SLI              *SLI     `json:"sli"`
	TimePeriodDays   *int     `json:"time_period_days"`
	TargetPerMillion *int     `json:"target_per_million"`
	Tags             []Tag    `json:"tags"`
	DatasetSlugs     []string `json:"dataset_slugs"`
}

// checkSLO validates what an SLO carries but its SLI's derived column and
// datasets (which need the stores).
func checkSLO(in sloInput, all bool) (SLO, error) {
	var s SLO
	if err := checkNamed(in.Name, in.Description, maxSLOName, maxSLODescription); err != nil {
		return s, err
	}
	switch {
	case in.SLI == nil || strings.TrimSpace(in.SLI.Alias) == "":
		return s, missingField("sli.alias")
	case utf8.RuneCountInString(in.SLI.Alias) > maxSLOAlias:
		return s, badField("sli.alias", "must be at most %d characters", maxSLOAlias)
	case in.TimePeriodDays == nil:
		return s, missingField("time_period_days")
	case *in.TimePeriodDays < 1 || *in.TimePeriodDays > maxSLODays:
		return s, badField("time_period_days", "must be between 1 and %d days, got %d", maxSLODays, *in.TimePeriodDays)
	case in.TargetPerMillion == nil:
		return s, missingField("target_per_million")
	case *in.TargetPerMillion < 0 || *in.TargetPerMillion > 999999:
		return s, badField("target_per_million", "must be between 0 and 999999, got %d", *in.TargetPerMillion)
	case len(in.Tags) > maxSLOTags:
		return s, badField("tags", "at most %d tags, got %d", maxSLOTags, len(in.Tags))
	}
	for i, t := range in.Tags {
		if !tagKey.MatchString(t.Key) {
			return s, badField(fmt.Sprintf("tags[%d].key", i), "must be 1–32 lowercase letters, got %q", t.Key)
		}
		if !tagValue.MatchString(t.Value) {
			return s, badField(fmt.Sprintf("tags[%d].value", i), "must start with a lowercase letter and hold only lowercase letters, digits, / and - (at most 128), got %q", t.Value)
		}
	}
	if all {
		switch {
		case len(in.DatasetSlugs) == 0:
			return s, missingField("dataset_slugs")
		case len(in.DatasetSlugs) > maxSLODatasets:
			return s, badField("dataset_slugs", "at most %d datasets, got %d", maxSLODatasets, len(in.DatasetSlugs))
		}
	}
	s.Name, s.Description, s.SLI = *in.Name, in.Description, SLI{Alias: in.SLI.Alias}
	s.TimePeriodDays, s.TargetPerMillion = *in.TimePeriodDays, *in.TargetPerMillion
	s.Tags = in.Tags
	if s.Tags == nil {
		s.Tags = []Tag{}
	}
	return s, nil
}

// decodeSLO reads and checks an SLO; 422 naming the field.
func decodeSLO(w http.ResponseWriter, r *http.Request) (SLO, sloInput, bool) {
	var in sloInput
	if !decodeInput(w, r, &in, "SLO") {
		return SLO{}, in, false
	}
	s, err := checkSLO(in, r.PathValue("dataset") == query.AllDatasets)
	if err != nil {
		writeFieldProblem(w, err)
		return SLO{}, in, false
	}
	return s, in, true
}

// resolveSLO sets the SLO's datasets (the path's, or dataset_slugs under
// __all__, each one that exists) and checks its SLI: a derived column of
// the dataset or of the environment (only the environment's for several
// datasets) whose expression yields a boolean and names columns the
// datasets have. A problem is a *fieldProblem.
func (h *handler) resolveSLO(ctx context.Context, e, ds string, s *SLO, in sloInput) error {
	if ds != query.AllDatasets {
		s.DatasetSlugs = []string{ds}
	} else {
		list, err := h.datasets(ctx, e)
		if err != nil {
			return err
		}
		s.DatasetSlugs = nil
		for i, name := range in.DatasetSlugs {
			j := slices.IndexFunc(list, func(d store.Dataset) bool { return d.Slug == name || strings.EqualFold(d.Name, name) })
			if j < 0 {
				return badField(fmt.Sprintf("dataset_slugs[%d]", i), "no dataset %q in this environment", name)
			}
			if !slices.Contains(s.DatasetSlugs, list[j].Slug) {
				s.DatasetSlugs = append(s.DatasetSlugs, list[j].Slug)
			}
		}
	}
	sets := []string{query.AllDatasets}
	if len(s.DatasetSlugs) == 1 {
		sets = []string{s.DatasetSlugs[0], query.AllDatasets}
	}
	var sli *DerivedColumn
	for _, set := range sets {
		list, err := derivedOf(ctx, h.d.State, e, set)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(list, func(d DerivedColumn) bool { return d.Alias == s.SLI.Alias }); i >= 0 {
			sli = &list[i]
			break
		}
	}
	if sli == nil {
		where := "this dataset or the environment (__all__)"
		if len(s.DatasetSlugs) > 1 {
			where = "the environment (__all__): an SLO of several datasets needs an environment-wide one"
		}
		return badField("sli.alias", "no derived column %q in %s", s.SLI.Alias, where)
	}
	expr, err := query.ParseExpr(sli.Expression)
	if err != nil {
		return badField("sli.alias", "derived column %q: %v", s.SLI.Alias, err)
	}
	if !maybeBoolean(expr) {
		return badField("sli.alias", "derived column %q must evaluate to a boolean (true: success, false: failure); its expression %q does not", s.SLI.Alias, sli.Expression)
	}
	for _, slug := range s.DatasetSlugs {
		known, err := h.knownColumns(ctx, e, slug)
		if err != nil {
			return err
		}
		for _, c := range exprColumns(expr) {
			if _, ok := known[c]; !ok {
				return badField("sli.alias", "derived column %q names column %q, which dataset %q does not have", s.SLI.Alias, c, slug)
			}
		}
	}
	return nil
}

// kindColumnSetting is the state kind of the column records
// internal/api/honeycomb's Columns API keeps, keyed "<dataset>/<key name>".
const kindColumnSetting state.Kind = "honeycomb.column"

// booleanFuncs are the derived-column functions whose value is a boolean.
var booleanFuncs = []string{"EQUALS", "IN", "EXISTS", "NOT", "AND", "OR", "LT", "LTE", "GT", "GTE", "BOOL", "STARTS_WITH", "ENDS_WITH", "CONTAINS", "REG_MATCH"}

// maybeBoolean reports whether x can evaluate to a boolean: a boolean
// function or literal, a column (its type is the data's), an IF, SWITCH
// or COALESCE whose results can.
func maybeBoolean(x store.Expr) bool {
	switch {
	case x.Column != "":
		return true
	case x.Lit != nil:
		_, ok := x.Lit.Any().(bool)
		return ok
	case slices.Contains(booleanFuncs, x.Func):
		return true
	case x.Func == "IF":
		for _, a := range x.Args[1:] {
			if !maybeBoolean(a) {
				return false
			}
		}
		return true
	case x.Func == "SWITCH": // SWITCH(x, case, value, …[, default])
		for i := 2; i < len(x.Args); i += 2 {
			if !maybeBoolean(x.Args[i]) {
				return false
			}
		}
		return len(x.Args)%2 == 1 || maybeBoolean(x.Args[len(x.Args)-1])
	case x.Func == "COALESCE":
		return slices.ContainsFunc(x.Args, maybeBoolean)
	}
	return false
}

// exprColumns returns the columns x names.
func exprColumns(x store.Expr) []string {
	var out []string
	var walk func(store.Expr)
	walk = func(x store.Expr) {
		if x.Column != "" && !slices.Contains(out, x.Column) {
			out = append(out, x.Column)
		}
		for _, a := range x.Args {
			walk(a)
		}
	}
	walk(x)
	return out
}

// knownColumns returns the names a query of dataset ds (a slug or
// __all__) may use as columns: the dataset's columns (every dataset's for
// __all__) mapped to "", and the derived columns of the dataset and the
// environment mapped to their expressions (the dataset's first).
func (h *handler) knownColumns(ctx context.Context, e, ds string) (map[string]string, error) {
	known := map[string]string{}
	slugs := []string{ds}
	if ds == query.AllDatasets {
		list, err := h.datasets(ctx, e)
		if err != nil {
			return nil, err
		}
		slugs = slugs[:0]
		for _, d := range list {
			slugs = append(slugs, d.Slug)
		}
	}
	for _, slug := range slugs {
		cols, err := h.d.Store.Columns(ctx, e, slug)
		if err != nil && !errors.Is(err, store.ErrNotFound) { // a dataset made before its first event has none
			return nil, err
		}
		for _, c := range cols {
			known[c.KeyName] = ""
		}
	}
	// Columns made with the Columns API before any event has them.
	recs, err := h.d.State.List(ctx, kindColumnSetting, e)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		slug, key, _ := strings.Cut(rec.Key, "/")
		if slices.Contains(slugs, slug) {
			known[key] = ""
		}
	}
	sets := []string{query.AllDatasets}
	if ds != query.AllDatasets {
		sets = []string{ds, query.AllDatasets}
	}
	for _, set := range sets {
		list, err := derivedOf(ctx, h.d.State, e, set)
		if err != nil {
			return nil, err
		}
		for _, d := range list {
			if _, taken := known[d.Alias]; !taken || known[d.Alias] == "" {
				known[d.Alias] = d.Expression
			}
		}
	}
	return known, nil
}

// checkSpecColumns returns a *fieldProblem naming the first column spec
// uses that dataset ds (a slug or __all__) does not have as a column,
// derived column or calculated field of the spec. prefix names the query
// in the problem ("query." or "").
func (h *handler) checkSpecColumns(ctx context.Context, e, ds string, spec query.Spec, prefix string) error {
	known, err := h.knownColumns(ctx, e, ds)
	if err != nil {
		return err
	}
	for _, cf := range spec.CalculatedFields {
		known[cf.Name] = ""
	}
	type use struct{ field, column string }
	var uses []use
	for i, c := range spec.Calculations {
		if c.Column != nil {
			uses = append(uses, use{fmt.Sprintf("calculations[%d].column", i), *c.Column})
		}
		for j, f := range c.Filters {
			uses = append(uses, use{fmt.Sprintf("calculations[%d].filters[%d].column", i, j), f.Column})
		}
	}
	for i, f := range spec.Filters {
		uses = append(uses, use{fmt.Sprintf("filters[%d].column", i), f.Column})
	}
	for i, b := range spec.Breakdowns {
		uses = append(uses, use{fmt.Sprintf("breakdowns[%d]", i), b})
	}
	for i, o := range spec.Orders {
		if o.Op == "" && o.Column != "" {
			uses = append(uses, use{fmt.Sprintf("orders[%d].column", i), o.Column})
		}
	}
	for _, u := range uses {
		expr, ok := known[u.column]
		if !ok {
			return badField(prefix+u.field, "column %q does not exist in dataset %q (nor as a derived column)", u.column, ds)
		}
		if expr == "" {
			continue
		}
		x, err := query.ParseExpr(expr)
		if err != nil {
			return badField(prefix+u.field, "derived column %q: %v", u.column, err)
		}
		for _, c := range exprColumns(x) {
			if _, ok := known[c]; !ok {
				return badField(prefix+u.field, "derived column %q names column %q, which dataset %q does not have", u.column, c, ds)
			}
		}
	}
	return nil
}

func (h *handler) sloFailed(w http.ResponseWriter, err error) {
	var p *fieldProblem
	if errors.As(err, &p) {
		writeFieldProblem(w, err)
		return
	}
	h.objectFailed(w, "SLO", err)
}

// findSLO returns the SLO id of environment e as seen from dataset path
// ds: under __all__ any SLO, under a dataset the SLOs that cover it.
func findSLO(ctx context.Context, ss state.Store, e, ds, id string) (SLO, state.Record, error) {
	recs, err := ss.List(ctx, kindSLO, e)
	if err != nil {
		return SLO{}, state.Record{}, err
	}
	for _, rec := range recs {
		if !sloKeyIs(rec.Key, id) {
			continue
		}
		var s SLO
		if err := json.Unmarshal(rec.Value, &s); err != nil {
			return SLO{}, rec, fmt.Errorf("stored SLO %s: %w", rec.Key, err)
		}
		if s.ID == id && (ds == query.AllDatasets || slices.Contains(s.DatasetSlugs, ds)) {
			return s, rec, nil
		}
	}
	return SLO{}, state.Record{}, state.ErrNotFound
}

// sloKeyIs reports whether key ("<dataset>/<id>") is SLO id's.
func sloKeyIs(key, id string) bool {
	_, k, _ := strings.Cut(key, "/")
	return k == id
}

// GetSLO reads SLO id of environment e (any dataset).
func GetSLO(ctx context.Context, ss state.Store, e, id string) (SLO, error) {
	s, _, err := findSLO(ctx, ss, e, query.AllDatasets, id)
	return s, err
}

func (h *handler) createSLO(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	s, in, ok := decodeSLO(w, r)
	if !ok {
		return
	}
	e := env(r)
	if err := h.resolveSLO(r.Context(), e, ds, &s, in); err != nil {
		h.sloFailed(w, err)
		return
	}
	now := h.d.Now().UTC()
	s.ID, s.CreatedAt, s.UpdatedAt = randomID(6), now, now
	v, _ := json.Marshal(s)
	if _, err := h.d.State.Put(r.Context(), state.Record{Kind: kindSLO, Scope: e, Key: markerKey(ds, s.ID), Value: v}, state.MustNotExist); err != nil {
		h.sloFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, s)
}

func (h *handler) listSLOs(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	recs, err := h.d.State.List(r.Context(), kindSLO, env(r))
	if err != nil {
		h.sloFailed(w, err)
		return
	}
	out := []SLO{}
	for _, rec := range recs {
		var s SLO
		if json.Unmarshal(rec.Value, &s) == nil && (ds == query.AllDatasets || slices.Contains(s.DatasetSlugs, ds)) {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) getSLO(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	e := env(r)
	s, _, err := findSLO(r.Context(), h.d.State, e, ds, r.PathValue("id"))
	if err != nil {
		h.sloFailed(w, err)
		return
	}
	if _, detailed := r.URL.Query()["detailed"]; !detailed || r.URL.Query().Get("detailed") == "false" {
		api.WriteJSON(w, http.StatusOK, s)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.d.QueryTimeout)
	defer cancel()
	st, err := ComputeSLO(ctx, h.d.Store, h.d.State, e, s, h.d.Now())
	if err != nil {
		h.runFailed(w, r, ctx, "id", err)
		return
	}
	api.WriteJSON(w, http.StatusOK, SLODetailed{SLO: s, Compliance: st.Compliance, BudgetRemaining: st.BudgetRemaining, Status: st.Status, BurnRate: st.BurnRate})
}

// updateSLO replaces the SLO (PUT is not partial), keeping its id,
// datasets' path and created_at.
func (h *handler) updateSLO(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	s, in, ok := decodeSLO(w, r)
	if !ok {
		return
	}
	e := env(r)
	old, rec, err := findSLO(r.Context(), h.d.State, e, ds, r.PathValue("id"))
	if err != nil {
		h.sloFailed(w, err)
		return
	}
	path := strings.TrimSuffix(rec.Key, "/"+old.ID)
	if err := h.resolveSLO(r.Context(), e, path, &s, in); err != nil {
		h.sloFailed(w, err)
		return
	}
	s.ID, s.CreatedAt, s.ResetAt, s.UpdatedAt = old.ID, old.CreatedAt, old.ResetAt, h.d.Now().UTC()
	v, _ := json.Marshal(s)
	if _, err := h.d.State.Put(r.Context(), state.Record{Kind: kindSLO, Scope: e, Key: rec.Key, Value: v}, rec.Version); err != nil {
		h.sloFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, s)
}

// deleteSLO deletes the SLO with its burn alerts and their state.
func (h *handler) deleteSLO(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	e := env(r)
	s, rec, err := findSLO(r.Context(), h.d.State, e, ds, r.PathValue("id"))
	if err != nil {
		h.sloFailed(w, err)
		return
	}
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if err := tx.Delete(kindSLO, e, rec.Key, rec.Version); err != nil {
			return err
		}
		keys, err := tx.Keys(kindBurnAlert, e)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if !strings.HasPrefix(k, s.ID+"/") {
				continue
			}
			if err := deleteWithState(tx, kindBurnAlert, BurnAlertStateKind, e, k, state.AnyVersion); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.sloFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
