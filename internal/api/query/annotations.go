package query

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/state"
)

// QueryAnnotation is a Honeycomb query annotation: a name and description
// given to a saved query. Several may name one query; the query cannot
// change once annotated.
type QueryAnnotation struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	QueryID     string    `json:"query_id"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// kindAnnotation is the state kind of query annotations: one record each,
// scoped to its environment, keyed "<dataset>/<id>" as markers are.
const kindAnnotation state.Kind = "honeycomb.query-annotation"

// Honeycomb's bounds of an annotation's text.
const (
	maxAnnotationName        = 80
	maxAnnotationDescription = 280
)

// annotationInput reads an annotation's fields, answering 400 (as
// Honeycomb's Query Annotations API does) for a body that is not one or a
// field out of bounds.
func annotationInput(w http.ResponseWriter, r *http.Request) (name, description string, queryID *string, ok bool) {
	body, ok := readBody(w, r)
	if !ok {
		return "", "", nil, false
	}
	var in struct {
		Name        *string `json:"name"`
		Description string  `json:"description"`
		QueryID     *string `json:"query_id"`
	}
	bad := func(field, msg string) {
		api.WriteError(w, http.StatusBadRequest, msg, api.ProblemItem{Field: field, Code: "invalid", Description: msg})
	}
	switch err := json.Unmarshal(body, &in); {
	case err != nil:
		api.WriteError(w, http.StatusBadRequest, "could not parse the query annotation: "+err.Error())
	case in.Name == nil || strings.TrimSpace(*in.Name) == "":
		bad("name", "name: is required")
	case utf8.RuneCountInString(*in.Name) > maxAnnotationName:
		bad("name", "name: must be at most 80 characters")
	case utf8.RuneCountInString(in.Description) > maxAnnotationDescription:
		bad("description", "description: must be at most 280 characters")
	default:
		return *in.Name, in.Description, in.QueryID, true
	}
	return "", "", nil, false
}

func (h *handler) annotationFailed(w http.ResponseWriter, err error) {
	h.objectFailed(w, "query annotation", err)
}

func (h *handler) createAnnotation(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	name, description, queryID, ok := annotationInput(w, r)
	if !ok {
		return
	}
	if queryID == nil || *queryID == "" {
		api.WriteError(w, http.StatusBadRequest, "query_id: is required", api.ProblemItem{Field: "query_id", Code: "missing", Description: "query_id: is required"})
		return
	}
	now := h.d.Now().UTC()
	a := QueryAnnotation{ID: randomID(5), Name: name, Description: description, QueryID: *queryID, CreatedAt: now, UpdatedAt: now}
	v, _ := json.Marshal(a)
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if _, err := tx.Get(kindQuery, env(r), a.QueryID); err != nil {
			return err
		}
		_, err := tx.Put(state.Record{Kind: kindAnnotation, Scope: env(r), Key: markerKey(markerDataset(r), a.ID), Value: v}, state.MustNotExist)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		api.WriteError(w, http.StatusNotFound, "Query not found")
		return
	}
	if err != nil {
		h.annotationFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, a)
}

func (h *handler) listAnnotations(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	recs, err := h.d.State.List(r.Context(), kindAnnotation, env(r))
	if err != nil {
		h.annotationFailed(w, err)
		return
	}
	out := []QueryAnnotation{}
	prefix := markerDataset(r) + "/"
	for _, rec := range recs {
		var a QueryAnnotation
		if strings.HasPrefix(rec.Key, prefix) && json.Unmarshal(rec.Value, &a) == nil {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) getAnnotation(w http.ResponseWriter, r *http.Request) {
	if a, _, ok := getObject[QueryAnnotation](h, w, r, kindAnnotation, "query annotation"); ok {
		api.WriteJSON(w, http.StatusOK, a)
	}
}

// updateAnnotation sets the name and description; a query_id other than
// the annotation's is refused, as Honeycomb does not change it.
func (h *handler) updateAnnotation(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	name, description, queryID, ok := annotationInput(w, r)
	if !ok {
		return
	}
	key := markerKey(markerDataset(r), r.PathValue("id"))
	var a QueryAnnotation
	moved := false
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindAnnotation, env(r), key)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Value, &a); err != nil {
			return err
		}
		if moved = queryID != nil && *queryID != "" && *queryID != a.QueryID; moved {
			return nil
		}
		a.Name, a.Description, a.UpdatedAt = name, description, h.d.Now().UTC()
		v, _ := json.Marshal(a)
		_, err = tx.Put(state.Record{Kind: kindAnnotation, Scope: env(r), Key: key, Value: v}, rec.Version)
		return err
	})
	switch {
	case err != nil:
		h.annotationFailed(w, err)
	case moved:
		api.WriteError(w, http.StatusBadRequest, "query_id: an annotation's query cannot change",
			api.ProblemItem{Field: "query_id", Code: "invalid", Description: "an annotation's query cannot change"})
	default:
		api.WriteJSON(w, http.StatusOK, a)
	}
}

func (h *handler) deleteAnnotation(w http.ResponseWriter, r *http.Request) {
	h.deleteObject(w, r, kindAnnotation, "query annotation")
}
