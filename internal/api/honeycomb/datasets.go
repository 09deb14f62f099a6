package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Datasets are made by the events sent to them (the store lists those)
// and by POST /1/datasets; what a user sets of a dataset (description,
// JSON expansion depth, delete protection) is a record of the state store:
// kind honeycomb.dataset, scope the environment, key the slug. A dataset
// created by the API with no events yet is that record alone.
const kindDataset = api.KindDataset

// datasetRecord is a dataset's record in the state store.
type datasetRecord struct {
	Name            string    `json:"name"`
	Description     string    `json:"description"`
	ExpandJSONDepth int       `json:"expand_json_depth"`
	DeleteProtected bool      `json:"delete_protected"`
	CreatedAt       time.Time `json:"created_at"`
}

// ExpandJSONDepth is the expand_json_depth set for a dataset of env
// (found by name as its slug), 0 when none was set: how deep the Events
// API unpacks its nested JSON objects into columns.
func ExpandJSONDepth(ctx context.Context, st state.Store, env, dataset string) (int, error) {
	r, err := st.Get(ctx, kindDataset, env, store.Slug(dataset))
	if errors.Is(err, state.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var rec datasetRecord
	if err := json.Unmarshal(r.Value, &rec); err != nil {
		return 0, err
	}
	return rec.ExpandJSONDepth, nil
}

// Honeycomb's bounds of a dataset's fields.
const (
	maxDatasetName        = 255
	maxDatasetDescription = 1024
	maxExpandJSONDepth    = 10
)

// A dataset without a record of its own is protected from deletion, as
// Honeycomb's datasets are until a user turns the protection off.
func defaultDataset(name string, created time.Time) datasetRecord {
	return datasetRecord{Name: name, DeleteProtected: true, CreatedAt: created}
}

// datasetView is one dataset as the API shows it: what the store holds of
// it (found) and its record (rec, with version; version 0 when it has
// none).
type datasetView struct {
	stored  store.Dataset
	found   bool
	rec     datasetRecord
	version int64
}

func (v datasetView) slug() string {
	if v.found {
		return v.stored.Slug
	}
	return store.Slug(v.rec.Name)
}

func (v datasetView) json() datasetJSON {
	out := datasetJSON{
		Name: v.rec.Name, Slug: v.slug(), Description: v.rec.Description,
		ExpandJSONDepth: v.rec.ExpandJSONDepth, CreatedAt: v.rec.CreatedAt.UTC(),
		Settings: map[string]any{"delete_protected": v.rec.DeleteProtected},
	}
	if v.found {
		d := toDatasetJSON(v.stored)
		out.LastWrittenAt, out.RegularColumnsCount = d.LastWrittenAt, d.RegularColumnsCount
		out.Name = v.stored.Name
		if v.version == 0 || v.stored.CreatedAt.Before(v.rec.CreatedAt) {
			out.CreatedAt = v.stored.CreatedAt.UTC()
		}
	}
	return out
}

// listDatasets returns the environment's datasets: those of the store, in
// its order, with their records, then those only recorded, by slug.
func (h *handler) listDatasets(ctx context.Context, env string) ([]datasetView, error) {
	all, err := api.Datasets(ctx, h.d.Store, h.d.State, env)
	if err != nil {
		return nil, err
	}
	out := make([]datasetView, 0, len(all))
	for _, e := range all {
		v := datasetView{stored: e.Stored, found: e.Found}
		if e.Found {
			v.rec = defaultDataset(e.Stored.Name, e.Stored.CreatedAt)
		}
		if e.HasRecord {
			if err := json.Unmarshal(e.Record.Value, &v.rec); err != nil {
				return nil, err
			}
			v.version = e.Record.Version
		}
		out = append(out, v)
	}
	return out, nil
}

// findView resolves a dataset named in a URL or a body by slug or,
// case-insensitively, by name.
func (h *handler) findView(ctx context.Context, env, ref string) (datasetView, bool, error) {
	all, err := h.listDatasets(ctx, env)
	if err != nil {
		return datasetView{}, false, err
	}
	for _, v := range all {
		if v.slug() == ref || strings.EqualFold(v.rec.Name, ref) || (v.found && strings.EqualFold(v.stored.Name, ref)) {
			return v, true, nil
		}
	}
	return datasetView{}, false, nil
}

func (h *handler) datasets(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	all, err := h.listDatasets(r.Context(), p.Env)
	if err != nil {
		h.internal(w, "list datasets", err)
		return
	}
	out := make([]datasetJSON, 0, len(all))
	for _, v := range all {
		out = append(out, v.json())
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) dataset(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	v, ok, err := h.findView(r.Context(), p.Env, r.PathValue("slug"))
	if err != nil {
		h.internal(w, "read dataset", err)
		return
	}
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Dataset not found")
		return
	}
	api.WriteJSON(w, http.StatusOK, v.json())
}

// decodeBody reads a JSON object of at most 64 KiB into v, answering 400
// (Honeycomb's bad-request problem) when it is not one.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	if err := dec.Decode(v); err != nil {
		api.WriteError(w, http.StatusBadRequest, "request body is not a JSON object of this route: "+err.Error())
		return false
	}
	return true
}

// invalid answers 422 naming the field, as Honeycomb's validation does.
func invalid(w http.ResponseWriter, field, msg string) {
	api.WriteError(w, http.StatusUnprocessableEntity, msg, api.ProblemItem{Field: field, Code: "invalid", Description: msg})
}

// checkDatasetFields validates what POST and PUT may set; it answers 422
// and returns false on the first field out of bounds.
func checkDatasetFields(w http.ResponseWriter, description string, depth int) bool {
	if utf8.RuneCountInString(description) > maxDatasetDescription {
		invalid(w, "description", "description must be at most 1024 characters")
		return false
	}
	if depth < 0 || depth > maxExpandJSONDepth {
		invalid(w, "expand_json_depth", "expand_json_depth must be between 0 and 10")
		return false
	}
	return true
}

// createDataset answers POST /1/datasets: 201 with the new dataset, or
// 200 with the one that already has the name (or its slug), as Honeycomb
// does.
func (h *handler) createDataset(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	var in struct {
		Name            *string `json:"name"`
		Description     string  `json:"description"`
		ExpandJSONDepth int     `json:"expand_json_depth"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		invalid(w, "name", "name is required")
		return
	}
	name := strings.TrimSpace(*in.Name)
	if utf8.RuneCountInString(name) > maxDatasetName {
		invalid(w, "name", "name must be at most 255 characters")
		return
	}
	if !checkDatasetFields(w, in.Description, in.ExpandJSONDepth) {
		return
	}
	for {
		v, ok, err := h.findView(r.Context(), p.Env, store.Slug(name))
		if err == nil && !ok {
			v, ok, err = h.findView(r.Context(), p.Env, name)
		}
		if err != nil {
			h.internal(w, "create dataset", err)
			return
		}
		if ok {
			api.WriteJSON(w, http.StatusOK, v.json())
			return
		}
		rec := datasetRecord{Name: name, Description: in.Description, ExpandJSONDepth: in.ExpandJSONDepth,
			DeleteProtected: true, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		b, _ := json.Marshal(rec)
		_, err = h.d.State.Put(r.Context(), state.Record{Kind: kindDataset, Scope: p.Env, Key: store.Slug(name), Value: b}, state.MustNotExist)
		if errors.Is(err, state.ErrConflict) {
			continue // created meanwhile: answer that one
		}
		if err != nil {
			h.internal(w, "create dataset", err)
			return
		}
		api.WriteJSON(w, http.StatusCreated, datasetView{rec: rec, version: 1}.json())
		return
	}
}

// updateDataset answers PUT /1/datasets/{slug}: description, expand JSON
// depth and delete protection are all set, an omitted one to its default
// (protection on), as Honeycomb documents.
func (h *handler) updateDataset(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	var in struct {
		Description     string `json:"description"`
		ExpandJSONDepth int    `json:"expand_json_depth"`
		Settings        struct {
			DeleteProtected *bool `json:"delete_protected"`
		} `json:"settings"`
	}
	if !decodeBody(w, r, &in) || !checkDatasetFields(w, in.Description, in.ExpandJSONDepth) {
		return
	}
	for {
		v, ok, err := h.findView(r.Context(), p.Env, r.PathValue("slug"))
		if err != nil {
			h.internal(w, "update dataset", err)
			return
		}
		if !ok {
			api.WriteError(w, http.StatusNotFound, "Dataset not found")
			return
		}
		v.rec.Description, v.rec.ExpandJSONDepth = in.Description, in.ExpandJSONDepth
		v.rec.DeleteProtected = in.Settings.DeleteProtected == nil || *in.Settings.DeleteProtected
		b, _ := json.Marshal(v.rec)
		ifVersion := v.version
		if ifVersion == 0 {
			ifVersion = state.MustNotExist
		}
		v.version, err = h.d.State.Put(r.Context(), state.Record{Kind: kindDataset, Scope: p.Env, Key: v.slug(), Value: b}, ifVersion)
		if errors.Is(err, state.ErrConflict) {
			continue // changed meanwhile: apply the update to what is there now
		}
		if err != nil {
			h.internal(w, "update dataset", err)
			return
		}
		api.WriteJSON(w, http.StatusOK, v.json())
		return
	}
}

// deleteDataset answers DELETE /1/datasets/{slug}: a dataset with delete
// protection on is refused 409 (turn it off with PUT first); otherwise its
// events go, then, in one state transaction, everything kept under it
// (deleteDatasetState), and the answer is 202.
func (h *handler) deleteDataset(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	v, ok, err := h.findView(r.Context(), p.Env, r.PathValue("slug"))
	if err != nil {
		h.internal(w, "delete dataset", err)
		return
	}
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Dataset not found")
		return
	}
	if v.rec.DeleteProtected {
		api.WriteError(w, http.StatusConflict, "Dataset has delete protection enabled: update it with settings.delete_protected = false first")
		return
	}
	if v.found {
		if err := h.d.Store.DeleteDataset(r.Context(), p.Env, v.stored.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			h.internal(w, "delete dataset", err)
			return
		}
	}
	if err := h.d.State.Update(r.Context(), func(tx state.Tx) error { return deleteDatasetState(tx, p.Env, v.slug()) }); err != nil {
		h.internal(w, "delete dataset", err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

// datasetKinds are the state kinds of what belongs to one dataset of an
// environment, scoped to the environment, and how their keys name the
// dataset; deleting the dataset deletes their records (deleteDatasetState),
// in this order: the records keyed by an SLO's id come after the SLOs.
// The kinds of other packages are named by their values:
// internal/api/honeycomb cannot import their owner.
var datasetKinds = []struct {
	kind state.Kind
	key  datasetKey
}{
	{kindDataset, bySlug},                        // internal/api/honeycomb: the dataset's settings
	{kindDefinitions, bySlug},                    // internal/api/honeycomb
	{kindColumn, bySlugPrefix},                   // internal/api/honeycomb: "<slug>/<key name>"
	{kindDerivedColumn, bySlugPrefix},            // internal/api/query
	{"honeycomb.trigger", bySlugPrefix},          // internal/api/query
	{"honeycomb.trigger-state", bySlugPrefix},    // internal/api/query (internal/alerting writes it)
	{"honeycomb.marker", bySlugPrefix},           // internal/api/query
	{"honeycomb.marker-setting", bySlugPrefix},   // internal/api/query
	{"honeycomb.query-annotation", bySlugPrefix}, // internal/api/query
	{"honeycomb.slo", bySLO},                     // internal/api/query
	{"honeycomb.burn-alert", bySLOPrefix},        // internal/api/query
	{"honeycomb.burn-alert-state", bySLOPrefix},  // internal/api/query (internal/alerting writes it)
}

// datasetKey says how a record's key ties it to a dataset.
type datasetKey int

const (
	// bySlug: the key is the dataset's slug.
	bySlug datasetKey = iota
	// bySlugPrefix: the key is "<slug>/<id>".
	bySlugPrefix
	// bySLO: an SLO, keyed "<slug or __all__>/<id>", whose value lists
	// its datasets in dataset_slugs.
	bySLO
	// bySLOPrefix: the key is "<slo id>/<id>"; the record goes with its
	// SLO.
	bySLOPrefix
)

// deleteDatasetState deletes in tx what environment env keeps under the
// dataset slug: the records of datasetKinds, an SLO with its burn alerts.
// Honeycomb does not document what becomes of a multi-dataset SLO when
// one of its datasets is deleted; here it loses that dataset from
// dataset_slugs, and is deleted (with its burn alerts) when none is left.
func deleteDatasetState(tx state.Tx, env, slug string) error {
	del := func(kind state.Kind, key string) error {
		if err := tx.Delete(kind, env, key, state.AnyVersion); err != nil && !errors.Is(err, state.ErrNotFound) {
			return err
		}
		return nil
	}
	// delPrefix deletes the records of kind keyed "<one of prefixes>/…".
	delPrefix := func(kind state.Kind, prefixes []string) error {
		keys, err := tx.Keys(kind, env)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if p, _, ok := strings.Cut(k, "/"); ok && slices.Contains(prefixes, p) {
				if err := del(kind, k); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var slos []string // the ids of the SLOs deleted
	for _, dk := range datasetKinds {
		var err error
		switch dk.key {
		case bySlug:
			err = del(dk.kind, slug)
		case bySlugPrefix:
			err = delPrefix(dk.kind, []string{slug})
		case bySLO:
			var ids []string
			ids, err = deleteDatasetSLOs(tx, dk.kind, env, slug)
			slos = append(slos, ids...)
		case bySLOPrefix:
			err = delPrefix(dk.kind, slos)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// deleteDatasetSLOs deletes in tx environment env's SLOs (of kind) of the
// dataset slug alone and takes slug out of the others' dataset_slugs; it
// returns the ids of the SLOs it deleted.
func deleteDatasetSLOs(tx state.Tx, kind state.Kind, env, slug string) ([]string, error) {
	recs, err := tx.List(kind, env)
	if err != nil {
		return nil, err
	}
	var deleted []string
	for _, rec := range recs {
		var slo map[string]json.RawMessage
		if err := json.Unmarshal(rec.Value, &slo); err != nil {
			return nil, fmt.Errorf("SLO %s/%s: %w", env, rec.Key, err)
		}
		var slugs []string
		if raw, ok := slo["dataset_slugs"]; ok {
			if err := json.Unmarshal(raw, &slugs); err != nil {
				return nil, fmt.Errorf("SLO %s/%s: %w", env, rec.Key, err)
			}
		}
		path, id, _ := strings.Cut(rec.Key, "/")
		left := slices.DeleteFunc(slices.Clone(slugs), func(s string) bool { return s == slug })
		switch {
		case path != slug && len(left) == len(slugs):
			// not this dataset's
		case path == slug || len(left) == 0:
			if err := tx.Delete(kind, env, rec.Key, rec.Version); err != nil {
				return nil, err
			}
			deleted = append(deleted, id)
		default:
			slo["dataset_slugs"], _ = json.Marshal(left)
			b, err := json.Marshal(slo)
			if err != nil {
				return nil, err
			}
			if _, err := tx.Put(state.Record{Kind: kind, Scope: env, Key: rec.Key, Value: b}, rec.Version); err != nil {
				return nil, err
			}
		}
	}
	return deleted, nil
}
