package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Dataset definitions (https://docs.honeycomb.io/api/tag/Dataset-Definitions/)
// say which column of a dataset has a special meaning: the trace id, the
// span's name, its duration, … GET /1/dataset_definitions/{dataset}
// answers every definition; PATCH sets those it names (the column must be
// a column or a derived column of the dataset) and clears those it gives
// the name "" (the definition reverts to its default). A definition whose
// value is null, or that the body leaves out, is not changed.
//
// What users set is a record of the state store: kind
// honeycomb.dataset-definitions, scope the environment, key the dataset's
// slug, value the set definitions (definitionsRecord); a definition not
// set answers its default column (trace.trace_id, duration_ms, …, the
// columns tracecomb's OTLP door writes), whether or not the dataset has
// it yet.
//
// The Events API honours the definitions that tracecomb's trace view reads
// (those with a field in the definitions table): an event sent to the
// dataset with the defined column fills that field (see Definitions).
const kindDefinitions state.Kind = "honeycomb.dataset-definitions"

// definition is one of Honeycomb's definitions: its name in the API, the
// column it means when not set, and the hot field of model.Event that the
// Events API fills from the defined column ("" for a definition only
// stored and shown).
type definition struct {
	name, column, field string
}

// definitions are Honeycomb's, in the order its API documents them, each
// with the column Honeycomb looks for first when it is not set. status,
// route, user, the links' ids and the log fields are kept and shown but
// change nothing at ingest: tracecomb's hot status field is OTLP's span
// status (status_code), which a request's status does not fill, and the
// others are ordinary columns to tracecomb.
var definitions = []definition{
	{"span_id", model.FieldSpanID, model.FieldSpanID},
	{"trace_id", model.FieldTraceID, model.FieldTraceID},
	{"parent_id", model.FieldParentID, model.FieldParentID},
	{"name", model.FieldName, model.FieldName},
	{"service_name", model.FieldServiceName, model.FieldServiceName},
	{"duration_ms", model.FieldDurationMs, model.FieldDurationMs},
	{"span_kind", model.FieldSpanKind, model.FieldSpanKind},
	{"annotation_type", model.FieldAnnotationType, model.FieldAnnotationType},
	{"link_span_id", "trace.link.span_id", ""},
	{"link_trace_id", "trace.link.trace_id", ""},
	{"error", model.FieldError, model.FieldError},
	{"status", "http.status_code", ""},
	{"route", "http.route", ""},
	{"user", "user.id", ""},
	{"log_severity", "severity", ""},
	{"log_message", "body", ""},
}

func findDefinition(name string) (definition, bool) {
	for _, d := range definitions {
		if d.name == name {
			return d, true
		}
	}
	return definition{}, false
}

// Column types of a definition.
const (
	columnTypeColumn  = "column"
	columnTypeDerived = "derived_column"
)

// definitionJSON is one definition as the API shows it.
type definitionJSON struct {
	Name       string `json:"name"`
	ColumnType string `json:"column_type"`
}

// definitionsRecord is the definitions set for a dataset, by definition
// name.
type definitionsRecord map[string]definitionJSON

// maxDefinitionName is Honeycomb's bound of a definition's column name.
const maxDefinitionName = 255

// kindDerivedColumn is the Derived Columns API's kind (internal/api/query),
// keyed "<dataset slug or __all__>/<id>"; definitions only read it, to
// accept a derived column's alias.
const kindDerivedColumn state.Kind = "honeycomb.derived-column"

// definitionsJSON answers every definition: the set one, else the default.
func definitionsJSON(rec definitionsRecord) map[string]*definitionJSON {
	out := make(map[string]*definitionJSON, len(definitions))
	for _, d := range definitions {
		if set, ok := rec[d.name]; ok {
			out[d.name] = &set
		} else {
			out[d.name] = &definitionJSON{Name: d.column, ColumnType: columnTypeColumn}
		}
	}
	return out
}

// readDefinitions returns the definitions set for a dataset of env (by
// slug) and the record's version (0 when there is none).
func readDefinitions(r *http.Request, st state.Store, env, slug string) (definitionsRecord, int64, error) {
	rec, err := st.Get(r.Context(), kindDefinitions, env, slug)
	if errors.Is(err, state.ErrNotFound) {
		return definitionsRecord{}, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	defs := definitionsRecord{}
	if err := json.Unmarshal(rec.Value, &defs); err != nil {
		return nil, 0, err
	}
	return defs, rec.Version, nil
}

// definitionsDataset resolves the URL's dataset, answering 404 when there
// is none.
func (h *handler) definitionsDataset(w http.ResponseWriter, r *http.Request) (datasetView, bool) {
	p, _ := api.PrincipalFrom(r.Context())
	v, ok, err := h.findView(r.Context(), p.Env, r.PathValue("dataset"))
	if err != nil {
		h.internal(w, "read dataset", err)
		return v, false
	}
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Dataset not found")
	}
	return v, ok
}

// getDefinitions answers GET /1/dataset_definitions/{dataset}.
func (h *handler) getDefinitions(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	v, ok := h.definitionsDataset(w, r)
	if !ok {
		return
	}
	defs, _, err := readDefinitions(r, h.d.State, p.Env, v.slug())
	if err != nil {
		h.internal(w, "read dataset definitions", err)
		return
	}
	api.WriteJSON(w, http.StatusOK, definitionsJSON(defs))
}

// patchDefinitions answers PATCH /1/dataset_definitions/{dataset}: the
// definitions the body names are set (or cleared with the name ""), each
// column checked to be the dataset's; 422 names every column not found,
// as Honeycomb's "The following columns were not found: …". column_type
// in the body is ignored, as Honeycomb ignores it: it is derived_column
// when the name is a derived column's alias, column otherwise.
func (h *handler) patchDefinitions(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	var body map[string]json.RawMessage
	if !decodeBody(w, r, &body) {
		return
	}
	type change struct {
		def  definition
		name string // "" clears
	}
	for k := range body {
		if _, ok := findDefinition(k); !ok {
			invalid(w, k, k+": is not a dataset definition")
			return
		}
	}
	var changes []change
	for _, d := range definitions {
		raw, ok := body[d.name]
		if !ok || isNull(raw) {
			continue
		}
		var in struct {
			Name *string `json:"name"`
		}
		if err := json.Unmarshal(raw, &in); err != nil {
			msg := d.name + ": must be an object with a name"
			api.WriteError(w, http.StatusUnprocessableEntity, msg, api.ProblemItem{Field: d.name, Code: "incorrect_type", Description: msg})
			return
		}
		if in.Name == nil {
			msg := d.name + ".name: is required (the name \"\" clears the definition)"
			api.WriteError(w, http.StatusUnprocessableEntity, msg, api.ProblemItem{Field: d.name + ".name", Code: "missing", Description: msg})
			return
		}
		if utf8.RuneCountInString(*in.Name) > maxDefinitionName {
			invalid(w, d.name+".name", d.name+".name: must be at most 255 characters")
			return
		}
		changes = append(changes, change{d, *in.Name})
	}
	v, cols, ok := h.columnsOf(w, r)
	if !ok {
		return
	}
	derived, err := h.derivedAliases(r, p.Env, v.slug())
	if err != nil {
		h.internal(w, "read derived columns", err)
		return
	}
	known := make(map[string]bool, len(cols))
	for _, c := range cols {
		known[c.rec.KeyName] = true
	}
	var missing []string
	var items []api.ProblemItem
	for _, c := range changes {
		if c.name != "" && !known[c.name] && !derived[c.name] {
			missing = append(missing, c.name)
			items = append(items, api.ProblemItem{Field: c.def.name + ".name", Code: "invalid", Description: "the dataset has no column or derived column " + c.name})
		}
	}
	if len(missing) > 0 {
		api.WriteError(w, http.StatusUnprocessableEntity, "The following columns were not found: "+strings.Join(missing, ", "), items...)
		return
	}
	var out definitionsRecord
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		out = definitionsRecord{}
		rec, err := tx.Get(kindDefinitions, p.Env, v.slug())
		switch {
		case err == nil:
			if err := json.Unmarshal(rec.Value, &out); err != nil {
				return err
			}
		case !errors.Is(err, state.ErrNotFound):
			return err
		}
		for _, c := range changes {
			switch {
			case c.name == "":
				delete(out, c.def.name)
			case derived[c.name] && !known[c.name]:
				out[c.def.name] = definitionJSON{Name: c.name, ColumnType: columnTypeDerived}
			default:
				out[c.def.name] = definitionJSON{Name: c.name, ColumnType: columnTypeColumn}
			}
		}
		if len(out) == 0 {
			if rec.Version == 0 {
				return nil
			}
			return tx.Delete(kindDefinitions, p.Env, v.slug(), rec.Version)
		}
		b, _ := json.Marshal(out)
		ifVersion := rec.Version
		if ifVersion == 0 {
			ifVersion = state.MustNotExist
		}
		_, err = tx.Put(state.Record{Kind: kindDefinitions, Scope: p.Env, Key: v.slug(), Value: b}, ifVersion)
		return err
	})
	if err != nil {
		h.internal(w, "write dataset definitions", err)
		return
	}
	if h.d.Definitions != nil {
		h.d.Definitions.forget(p.Env, v.slug())
	}
	api.WriteJSON(w, http.StatusOK, definitionsJSON(out))
}

// derivedAliases returns the aliases of the derived columns a dataset's
// queries may use: its own and the environment's.
func (h *handler) derivedAliases(r *http.Request, env, slug string) (map[string]bool, error) {
	recs, err := h.d.State.List(r.Context(), kindDerivedColumn, env)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, rec := range recs {
		ds, _, _ := strings.Cut(rec.Key, "/")
		if ds != slug && ds != "__all__" {
			continue
		}
		var d struct {
			Alias string `json:"alias"`
		}
		if json.Unmarshal(rec.Value, &d) == nil && d.Alias != "" {
			out[d.Alias] = true
		}
	}
	return out, nil
}

func isNull(raw json.RawMessage) bool {
	return strings.TrimSpace(string(raw)) == "null"
}

// Definitions is what the Events API needs of the definitions: for a
// dataset, the columns that fill hot fields of model.Event (Fields). It
// reads a dataset's record once and keeps what it found, empty included,
// until the record changes: a PATCH through this node's handler forgets
// it at once (Deps.Definitions), and Follow forgets what any node
// changes, as the state store reports it (within a second). A lookup is
// then a map read under a read lock, which is why the Events API can ask
// for every request.
type Definitions struct {
	st  state.Store
	mu  sync.RWMutex
	m   map[definitionsKey]map[string]string
	gen uint64 // counts forgets, so a read that raced one is not kept
}

// definitionsKey names a dataset of an environment.
type definitionsKey struct{ env, slug string }

// NewDefinitions returns an empty cache of st's definitions.
func NewDefinitions(st state.Store) *Definitions {
	return &Definitions{st: st, m: map[definitionsKey]map[string]string{}}
}

// Fields returns, for the dataset of env named dataset (any case, or its
// slug), the columns its definitions name in place of a hot field's own
// name, each with the field it fills: {"my_trace": "trace.trace_id"}.
// It is nil when there are none. A derived column fills nothing: its
// values are computed by queries, after ingest.
func (d *Definitions) Fields(ctx context.Context, env, dataset string) (map[string]string, error) {
	k := definitionsKey{env, store.Slug(dataset)}
	d.mu.RLock()
	f, ok := d.m[k]
	gen := d.gen
	d.mu.RUnlock()
	if ok {
		return f, nil
	}
	rec, err := d.st.Get(ctx, kindDefinitions, k.env, k.slug)
	defs := definitionsRecord{}
	switch {
	case err == nil:
		if err := json.Unmarshal(rec.Value, &defs); err != nil {
			return nil, fmt.Errorf("dataset definitions of %s: %w", k.slug, err)
		}
	case !errors.Is(err, state.ErrNotFound):
		return nil, err
	}
	for _, def := range definitions {
		set, ok := defs[def.name]
		if !ok || def.field == "" || set.ColumnType != columnTypeColumn || set.Name == def.field {
			continue
		}
		if f == nil {
			f = map[string]string{}
		}
		f[set.Name] = def.field
	}
	d.mu.Lock()
	if d.gen == gen {
		d.m[k] = f
	}
	d.mu.Unlock()
	return f, nil
}

// forget drops what is kept of a dataset.
func (d *Definitions) forget(env, slug string) {
	d.mu.Lock()
	delete(d.m, definitionsKey{env, slug})
	d.gen++
	d.mu.Unlock()
}

// Follow forgets what the changes of the state store (from its Watch)
// touch, until the channel closes; a Change of empty kind (changes were
// missed) forgets everything.
func (d *Definitions) Follow(changes <-chan state.Change) {
	for c := range changes {
		switch c.Kind {
		case "":
			d.mu.Lock()
			clear(d.m)
			d.gen++
			d.mu.Unlock()
		case kindDefinitions:
			d.forget(c.Scope, c.Key)
		}
	}
}
