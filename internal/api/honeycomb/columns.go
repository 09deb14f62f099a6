package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Columns are made by the events that carry them (the store lists those)
// and by POST /1/columns/{dataset}; what a user sets of a column (type,
// description, hidden) is a record of the state store: kind
// honeycomb.column, scope the environment, key the dataset's slug and
// the column's key name joined by "/".
const kindColumn state.Kind = "honeycomb.column"

// columnRecord is a column's record in the state store.
type columnRecord struct {
	KeyName     string    `json:"key_name"`
	Type        string    `json:"type"`
	Description string    `json:"description"`
	Hidden      bool      `json:"hidden"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

type columnJSON struct {
	ID          string     `json:"id"`
	KeyName     string     `json:"key_name"`
	Hidden      bool       `json:"hidden"`
	Description string     `json:"description"`
	Type        string     `json:"type"`
	LastWritten *time.Time `json:"last_written"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Honeycomb's bounds and types of a column.
const (
	maxColumnKey         = 255
	maxColumnDescription = 255
)

var columnTypes = []string{"string", "float", "integer", "boolean"}

func columnKey(dataset, key string) string { return dataset + "/" + key }

// columnID derives a stable short id from the key name (Honeycomb's ids are
// opaque ~11-character strings).
func columnID(key string) string {
	const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
	var h uint64 = 14695981039346656037
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	b := make([]byte, 11)
	for i := range b {
		b[i] = alphabet[h%uint64(len(alphabet))]
		h /= uint64(len(alphabet))
		if h == 0 {
			h = 0x9e3779b97f4a7c15 ^ uint64(i)
		}
	}
	return string(b)
}

// columnView is one column as the API shows it: the store's (found) and
// its record (version 0 when it has none).
type columnView struct {
	stored  store.Column
	found   bool
	rec     columnRecord
	version int64
}

func (c columnView) json() columnJSON {
	out := columnJSON{ID: columnID(c.rec.KeyName), KeyName: c.rec.KeyName, Hidden: c.rec.Hidden,
		Description: c.rec.Description, Type: c.rec.Type, CreatedAt: c.rec.CreatedAt.UTC(), UpdatedAt: c.rec.UpdatedAt.UTC()}
	if c.found {
		t := c.stored.LastWritten.UTC()
		out.LastWritten = &t
		if c.version == 0 {
			out.UpdatedAt = t
		}
		if c.version == 0 || c.stored.CreatedAt.Before(c.rec.CreatedAt) {
			out.CreatedAt = c.stored.CreatedAt.UTC()
		}
	}
	return out
}

// listColumns returns the columns of dataset v: the store's, with their
// records, then those only recorded, by key name.
func (h *handler) listColumns(ctx context.Context, env string, v datasetView) ([]columnView, error) {
	var cols []store.Column
	if v.found {
		var err error
		if cols, err = h.d.Store.Columns(ctx, env, v.stored.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	recs := map[string]state.Record{}
	if h.d.State != nil {
		rs, err := h.d.State.List(ctx, kindColumn, env)
		if err != nil {
			return nil, err
		}
		prefix := v.slug() + "/"
		for _, r := range rs {
			if strings.HasPrefix(r.Key, prefix) {
				recs[strings.TrimPrefix(r.Key, prefix)] = r
			}
		}
	}
	out := make([]columnView, 0, len(cols)+len(recs))
	for _, c := range cols {
		cv := columnView{stored: c, found: true, rec: columnRecord{KeyName: c.KeyName, Type: c.Type.String(),
			CreatedAt: c.CreatedAt, UpdatedAt: c.LastWritten}}
		if r, ok := recs[c.KeyName]; ok {
			if err := json.Unmarshal(r.Value, &cv.rec); err != nil {
				return nil, err
			}
			cv.version = r.Version
			delete(recs, c.KeyName)
		}
		out = append(out, cv)
	}
	rest := make([]columnView, 0, len(recs))
	for _, r := range recs {
		cv := columnView{version: r.Version}
		if err := json.Unmarshal(r.Value, &cv.rec); err != nil {
			return nil, err
		}
		rest = append(rest, cv)
	}
	sort.Slice(rest, func(i, j int) bool { return rest[i].rec.KeyName < rest[j].rec.KeyName })
	return append(out, rest...), nil
}

// columnsOf resolves the dataset of the URL and lists its columns,
// answering 404 when there is no such dataset.
func (h *handler) columnsOf(w http.ResponseWriter, r *http.Request) (datasetView, []columnView, bool) {
	p, _ := api.PrincipalFrom(r.Context())
	v, ok, err := h.findView(r.Context(), p.Env, r.PathValue("dataset"))
	if err != nil {
		h.internal(w, "read dataset", err)
		return v, nil, false
	}
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Dataset not found")
		return v, nil, false
	}
	cols, err := h.listColumns(r.Context(), p.Env, v)
	if err != nil {
		h.internal(w, "list columns", err)
		return v, nil, false
	}
	return v, cols, true
}

func (h *handler) columns(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	var cols []columnView
	if r.PathValue("dataset") == "__all__" {
		all, err := h.d.Store.Columns(r.Context(), p.Env, "")
		if err != nil {
			h.internal(w, "list columns", err)
			return
		}
		for _, c := range all {
			cols = append(cols, columnView{stored: c, found: true, rec: columnRecord{KeyName: c.KeyName, Type: c.Type.String(),
				CreatedAt: c.CreatedAt, UpdatedAt: c.LastWritten}})
		}
	} else {
		var ok bool
		if _, cols, ok = h.columnsOf(w, r); !ok {
			return
		}
	}
	if key := r.URL.Query().Get("key_name"); key != "" {
		for _, c := range cols {
			if c.rec.KeyName == key {
				api.WriteJSON(w, http.StatusOK, c.json())
				return
			}
		}
		api.WriteError(w, http.StatusNotFound, "Column not found")
		return
	}
	out := make([]columnJSON, 0, len(cols))
	for _, c := range cols {
		out = append(out, c.json())
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func findColumn(cols []columnView, id string) (columnView, bool) {
	for _, c := range cols {
		if columnID(c.rec.KeyName) == id {
			return c, true
		}
	}
	return columnView{}, false
}

// columnOf resolves the dataset and the column of the URL, answering 404
// when either is not there.
func (h *handler) columnOf(w http.ResponseWriter, r *http.Request) (datasetView, columnView, bool) {
	v, cols, ok := h.columnsOf(w, r)
	if !ok {
		return v, columnView{}, false
	}
	c, ok := findColumn(cols, r.PathValue("id"))
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Column not found")
	}
	return v, c, ok
}

func (h *handler) column(w http.ResponseWriter, r *http.Request) {
	if _, c, ok := h.columnOf(w, r); ok {
		api.WriteJSON(w, http.StatusOK, c.json())
	}
}

// columnInput is what POST and PUT take.
type columnInput struct {
	KeyName     *string `json:"key_name"`
	Type        *string `json:"type"`
	Description string  `json:"description"`
	Hidden      bool    `json:"hidden"`
}

// check validates the input, answering 422 naming the field.
func (in *columnInput) check(w http.ResponseWriter) bool {
	if in.Type != nil && !slices.Contains(columnTypes, *in.Type) {
		invalid(w, "type", "type must be one of string, float, integer, boolean")
		return false
	}
	if utf8.RuneCountInString(in.Description) > maxColumnDescription {
		invalid(w, "description", "description must be at most 255 characters")
		return false
	}
	return true
}

// putColumn writes a column's record under the version rule of
// state.Store.Put and answers the column, or 409 when the record changed
// meanwhile.
func (h *handler) putColumn(w http.ResponseWriter, r *http.Request, v datasetView, c columnView, status int) {
	p, _ := api.PrincipalFrom(r.Context())
	b, _ := json.Marshal(c.rec)
	ifVersion := c.version
	if ifVersion == 0 {
		ifVersion = state.MustNotExist
	}
	var err error
	c.version, err = h.d.State.Put(r.Context(), state.Record{Kind: kindColumn, Scope: p.Env, Key: columnKey(v.slug(), c.rec.KeyName), Value: b}, ifVersion)
	if errors.Is(err, state.ErrConflict) {
		api.WriteError(w, http.StatusConflict, "Column was changed at the same time; read it again")
		return
	}
	if err != nil {
		h.internal(w, "write column", err)
		return
	}
	api.WriteJSON(w, status, c.json())
}

// createColumn answers POST /1/columns/{dataset}: 201 with the new column;
// 409 when the dataset has a column of that key name.
func (h *handler) createColumn(w http.ResponseWriter, r *http.Request) {
	var in columnInput
	if !decodeBody(w, r, &in) || !in.check(w) {
		return
	}
	if in.KeyName == nil || strings.TrimSpace(*in.KeyName) == "" {
		invalid(w, "key_name", "key_name is required")
		return
	}
	if utf8.RuneCountInString(*in.KeyName) > maxColumnKey {
		invalid(w, "key_name", "key_name must be at most 255 characters")
		return
	}
	v, cols, ok := h.columnsOf(w, r)
	if !ok {
		return
	}
	for _, c := range cols {
		if c.rec.KeyName == *in.KeyName {
			api.WriteError(w, http.StatusConflict, "Column already exists", api.ProblemItem{Field: "key_name", Code: "already_exists", Description: "the dataset has a column " + *in.KeyName})
			return
		}
	}
	typ := model.KindString.String()
	if in.Type != nil {
		typ = *in.Type
	}
	now := time.Now().UTC().Truncate(time.Second)
	c := columnView{rec: columnRecord{KeyName: *in.KeyName, Type: typ, Description: in.Description, Hidden: in.Hidden, CreatedAt: now, UpdatedAt: now}}
	h.putColumn(w, r, v, c, http.StatusCreated)
}

// updateColumn answers PUT /1/columns/{dataset}/{id}: type (when given),
// description and hidden are set; the key name cannot change.
func (h *handler) updateColumn(w http.ResponseWriter, r *http.Request) {
	var in columnInput
	if !decodeBody(w, r, &in) || !in.check(w) {
		return
	}
	v, c, ok := h.columnOf(w, r)
	if !ok {
		return
	}
	if in.KeyName != nil && *in.KeyName != c.rec.KeyName {
		invalid(w, "key_name", "a column's key_name cannot change")
		return
	}
	if in.Type != nil {
		c.rec.Type = *in.Type
	}
	c.rec.Description, c.rec.Hidden = in.Description, in.Hidden
	c.rec.UpdatedAt = time.Now().UTC().Truncate(time.Second)
	h.putColumn(w, r, v, c, http.StatusOK)
}

// deleteColumn answers DELETE /1/columns/{dataset}/{id}: the column's
// values in every event, and its record, go (204).
func (h *handler) deleteColumn(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	v, c, ok := h.columnOf(w, r)
	if !ok {
		return
	}
	if c.found {
		if err := h.d.Store.DeleteColumn(r.Context(), p.Env, v.stored.Name, c.rec.KeyName); err != nil && !errors.Is(err, store.ErrNotFound) {
			h.internal(w, "delete column", err)
			return
		}
	}
	if c.version != 0 {
		if err := h.d.State.Delete(r.Context(), kindColumn, p.Env, columnKey(v.slug(), c.rec.KeyName), state.AnyVersion); err != nil && !errors.Is(err, state.ErrNotFound) {
			h.internal(w, "delete column", err)
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}
