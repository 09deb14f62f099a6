package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// DerivedColumn is a Honeycomb derived column (calculated field): an
// expression in the derived-column language (internal/query.ParseExpr, the
// one compiler of calculated fields) under an alias that queries use as a
// column of the dataset, or of every dataset when made under __all__.
type DerivedColumn struct {
	ID          string    `json:"id"`
	Alias       string    `json:"alias"`
	Expression  string    `json:"expression"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// kindDerived is the state kind of derived columns: one record each,
// scoped to its environment, keyed "<dataset>/<id>" as markers are.
const kindDerived state.Kind = "honeycomb.derived-column"

// Bounds of a derived column's text.
const (
	maxDerivedAlias       = 255
	maxDerivedDescription = 255
	maxDerivedExpression  = 4096
)

// decodeDerived reads a derived column's alias, expression and
// description and checks them, answering 422 naming the field (for an
// expression, with the column of its syntax error).
func decodeDerived(w http.ResponseWriter, r *http.Request) (DerivedColumn, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return DerivedColumn{}, false
	}
	var in struct {
		Alias       *string `json:"alias"`
		Expression  *string `json:"expression"`
		Description string  `json:"description"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		api.WriteError(w, http.StatusBadRequest, "could not parse the derived column: "+err.Error())
		return DerivedColumn{}, false
	}
	switch {
	case in.Alias == nil || strings.TrimSpace(*in.Alias) == "":
		writeProblem(w, "alias", "missing", "alias: is required")
	case utf8.RuneCountInString(*in.Alias) > maxDerivedAlias:
		writeProblem(w, "alias", "invalid", "alias: must be at most 255 characters")
	case in.Expression == nil || strings.TrimSpace(*in.Expression) == "":
		writeProblem(w, "expression", "missing", "expression: is required")
	case len(*in.Expression) > maxDerivedExpression:
		writeProblem(w, "expression", "invalid", "expression: must be at most 4096 bytes")
	case utf8.RuneCountInString(in.Description) > maxDerivedDescription:
		writeProblem(w, "description", "invalid", "description: must be at most 255 characters")
	default:
		if _, err := query.ParseExpr(*in.Expression); err != nil {
			writeProblem(w, "expression", "invalid", "expression: "+err.Error())
			return DerivedColumn{}, false
		}
		return DerivedColumn{Alias: *in.Alias, Expression: *in.Expression, Description: in.Description}, true
	}
	return DerivedColumn{}, false
}

// derivedOf returns the derived columns kept under ds (a slug or __all__)
// with their record keys, ordered by alias.
func derivedOf(ctx context.Context, ss state.Store, e, ds string) ([]DerivedColumn, error) {
	recs, err := ss.List(ctx, kindDerived, e)
	if err != nil {
		return nil, err
	}
	out := []DerivedColumn{}
	for _, rec := range recs {
		var d DerivedColumn
		if strings.HasPrefix(rec.Key, ds+"/") && json.Unmarshal(rec.Value, &d) == nil {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Alias < out[j].Alias })
	return out, nil
}

func (h *handler) derivedFailed(w http.ResponseWriter, err error) {
	h.objectFailed(w, "derived column", err)
}

// listDerived answers the dataset's derived columns, or with ?alias= the
// one of that alias.
func (h *handler) listDerived(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	list, err := derivedOf(r.Context(), h.d.State, env(r), markerDataset(r))
	if err != nil {
		h.derivedFailed(w, err)
		return
	}
	if alias := r.URL.Query().Get("alias"); alias != "" {
		for _, d := range list {
			if d.Alias == alias {
				api.WriteJSON(w, http.StatusOK, d)
				return
			}
		}
		api.WriteError(w, http.StatusNotFound, "Derived column not found")
		return
	}
	api.WriteJSON(w, http.StatusOK, list)
}

func (h *handler) getDerived(w http.ResponseWriter, r *http.Request) {
	if d, _, ok := getObject[DerivedColumn](h, w, r, kindDerived, "derived column"); ok {
		api.WriteJSON(w, http.StatusOK, d)
	}
}

// aliasTaken reports whether another derived column of ds (not the one
// with id skip) has alias.
func aliasTaken(tx state.Tx, e, ds, alias, skip string) (bool, error) {
	recs, err := tx.List(kindDerived, e)
	if err != nil {
		return false, err
	}
	for _, rec := range recs {
		var d DerivedColumn
		if strings.HasPrefix(rec.Key, ds+"/") && json.Unmarshal(rec.Value, &d) == nil && d.Alias == alias && d.ID != skip {
			return true, nil
		}
	}
	return false, nil
}

func writeAliasTaken(w http.ResponseWriter, alias string) {
	api.WriteError(w, http.StatusConflict, "a derived column "+alias+" exists in this dataset",
		api.ProblemItem{Field: "alias", Code: "already_exists", Description: "a derived column " + alias + " exists"})
}

// createDerived answers 201 with the new derived column; an alias the
// dataset has is 409.
func (h *handler) createDerived(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	d, ok := decodeDerived(w, r)
	if !ok {
		return
	}
	ds := markerDataset(r)
	now := h.d.Now().UTC()
	d.ID, d.CreatedAt, d.UpdatedAt = randomID(5), now, now
	v, _ := json.Marshal(d)
	taken := false
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		var err error
		if taken, err = aliasTaken(tx, env(r), ds, d.Alias, ""); err != nil || taken {
			return err
		}
		_, err = tx.Put(state.Record{Kind: kindDerived, Scope: env(r), Key: markerKey(ds, d.ID), Value: v}, state.MustNotExist)
		return err
	})
	switch {
	case err != nil:
		h.derivedFailed(w, err)
	case taken:
		writeAliasTaken(w, d.Alias)
	default:
		api.WriteJSON(w, http.StatusCreated, d)
	}
}

// updateDerived sets alias, expression and description.
func (h *handler) updateDerived(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	in, ok := decodeDerived(w, r)
	if !ok {
		return
	}
	ds, id := markerDataset(r), r.PathValue("id")
	var d DerivedColumn
	taken := false
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindDerived, env(r), markerKey(ds, id))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Value, &d); err != nil {
			return err
		}
		if taken, err = aliasTaken(tx, env(r), ds, in.Alias, id); err != nil || taken {
			return err
		}
		d.Alias, d.Expression, d.Description, d.UpdatedAt = in.Alias, in.Expression, in.Description, h.d.Now().UTC()
		v, _ := json.Marshal(d)
		_, err = tx.Put(state.Record{Kind: kindDerived, Scope: env(r), Key: markerKey(ds, id), Value: v}, rec.Version)
		return err
	})
	switch {
	case err != nil:
		h.derivedFailed(w, err)
	case taken:
		writeAliasTaken(w, in.Alias)
	default:
		api.WriteJSON(w, http.StatusOK, d)
	}
}

// deleteDerived deletes a derived column that no SLO uses as its SLI and
// no trigger's query names (409 otherwise, as Honeycomb answers).
func (h *handler) deleteDerived(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	e, ds := env(r), markerDataset(r)
	key := markerKey(ds, r.PathValue("id"))
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindDerived, e, key)
		if err != nil {
			return err
		}
		var d DerivedColumn
		if err := json.Unmarshal(rec.Value, &d); err != nil {
			return err
		}
		if user, err := derivedUser(tx, e, ds, d.Alias); err != nil || user != "" {
			if err == nil {
				err = derivedInUse{alias: d.Alias, user: user}
			}
			return err
		}
		return tx.Delete(kindDerived, e, key, rec.Version)
	})
	var inUse derivedInUse
	if errors.As(err, &inUse) {
		api.WriteError(w, http.StatusConflict, inUse.Error())
		return
	}
	if err != nil {
		h.derivedFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// derivedInUse is the refusal to delete a derived column in use.
type derivedInUse struct{ alias, user string }

func (e derivedInUse) Error() string {
	return fmt.Sprintf("derived column %q is used by %s: change or delete that first", e.alias, e.user)
}

// derivedUser names an SLO or trigger of environment e that uses the
// derived column alias kept under ds (a slug, or __all__ for every
// dataset), or "" when none does.
func derivedUser(tx state.Tx, e, ds, alias string) (string, error) {
	covers := func(keyDataset string, datasets []string) bool {
		return ds == query.AllDatasets || keyDataset == ds || slices.Contains(datasets, ds)
	}
	slos, err := tx.List(kindSLO, e)
	if err != nil {
		return "", err
	}
	for _, rec := range slos {
		var s SLO
		keyDS, _, _ := strings.Cut(rec.Key, "/")
		if json.Unmarshal(rec.Value, &s) == nil && s.SLI.Alias == alias && covers(keyDS, s.DatasetSlugs) {
			return fmt.Sprintf("SLO %s (%q)", s.ID, s.Name), nil
		}
	}
	triggers, err := tx.List(kindTrigger, e)
	if err != nil {
		return "", err
	}
	for _, rec := range triggers {
		var t Trigger
		keyDS, _, _ := strings.Cut(rec.Key, "/")
		if json.Unmarshal(rec.Value, &t) != nil || !covers(keyDS, nil) {
			continue
		}
		spec, err := TriggerSpec(t)
		if err != nil {
			continue
		}
		if _, named := specColumns(spec)[alias]; named {
			return fmt.Sprintf("trigger %s (%q)", t.ID, t.Name), nil
		}
	}
	return "", nil
}

// specColumns returns the names spec uses as columns that are not its
// own calculated fields.
func specColumns(spec query.Spec) map[string]bool {
	names := map[string]bool{}
	for _, c := range spec.Calculations {
		if c.Column != nil {
			names[*c.Column] = true
		}
		for _, f := range c.Filters {
			names[f.Column] = true
		}
	}
	for _, f := range spec.Filters {
		names[f.Column] = true
	}
	for _, b := range spec.Breakdowns {
		names[b] = true
	}
	for _, o := range spec.Orders {
		if o.Column != "" {
			names[o.Column] = true
		}
	}
	for _, cf := range spec.CalculatedFields {
		delete(names, cf.Name)
	}
	return names
}

// withDerived returns spec, for environment e, with the derived columns it names as columns
// added to its calculated fields: those of the dataset ds (a slug) before
// those made for every dataset (__all__); a calculated field of the spec
// itself keeps its name. A column of ds given a type with the Columns API
// (string, integer, float, boolean) is read as that type: a calculated
// field of its own name converts it (STRING, INT, FLOAT, BOOL), ahead of
// every other, so the query and the derived columns it uses see the
// declared type.
func withDerived(ctx context.Context, ss state.Store, e, ds string, spec query.Spec) (query.Spec, error) {
	names := specColumns(spec)
	if len(names) == 0 {
		return spec, nil
	}
	sets := []string{ds}
	if ds != query.AllDatasets {
		sets = append(sets, query.AllDatasets)
	}
	var derived []query.NamedExpr
	used := map[string]bool{} // columns the spec and its derived columns name
	for n := range names {
		used[n] = true
	}
	for _, set := range sets {
		list, err := derivedOf(ctx, ss, e, set)
		if err != nil {
			return spec, err
		}
		for _, d := range list {
			if names[d.Alias] {
				derived = append(derived, query.NamedExpr{Name: d.Alias, Expression: d.Expression})
				delete(names, d.Alias)
				if x, err := query.ParseExpr(d.Expression); err == nil {
					for _, c := range exprColumns(x) {
						used[c] = true
					}
				}
			}
		}
	}
	casts, err := declaredTypes(ctx, ss, e, ds, used)
	if err != nil {
		return spec, err
	}
	if len(derived) == 0 && len(casts) == 0 {
		return spec, nil
	}
	out := spec
	out.CalculatedFields = make([]query.NamedExpr, 0, len(casts)+len(spec.CalculatedFields)+len(derived))
	out.CalculatedFields = append(append(append(out.CalculatedFields, casts...), spec.CalculatedFields...), derived...)
	return out, nil
}

// typeCasts are the conversion functions of the Columns API's types.
var typeCasts = map[string]string{"string": "STRING", "integer": "INT", "float": "FLOAT", "boolean": "BOOL"}

// declaredTypes returns, for the columns of dataset ds among used that
// have a type set with the Columns API, the calculated fields converting
// them to it.
func declaredTypes(ctx context.Context, ss state.Store, e, ds string, used map[string]bool) ([]query.NamedExpr, error) {
	if ds == query.AllDatasets {
		return nil, nil
	}
	recs, err := ss.List(ctx, kindColumnSetting, e)
	if err != nil {
		return nil, err
	}
	var out []query.NamedExpr
	for _, rec := range recs {
		slug, key, _ := strings.Cut(rec.Key, "/")
		if slug != ds || !used[key] {
			continue
		}
		var c struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(rec.Value, &c) != nil || typeCasts[c.Type] == "" {
			continue
		}
		out = append(out, query.NamedExpr{Name: key, Expression: typeCasts[c.Type] + "(" + columnRef(key) + ")"})
	}
	return out, nil
}

// columnRef is key as a column reference of the derived-column language:
// $"…", a backslash before each quote and backslash.
func columnRef(key string) string {
	return `$"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
}
