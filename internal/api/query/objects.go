package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/state"
)

// The configuration objects kept per dataset (markers, marker settings,
// query annotations, derived columns, triggers) are records of the state
// store keyed "<dataset>/<id>" in their environment (markerKey); these
// are the parts their handlers share.

// objectFailed answers a failed read or write of one object, named by
// noun ("marker setting"): 404 when it is not there, 409 when another
// request changed it first, 500 otherwise.
func (h *handler) objectFailed(w http.ResponseWriter, noun string, err error) {
	switch {
	case errors.Is(err, state.ErrNotFound):
		api.WriteError(w, http.StatusNotFound, strings.ToUpper(noun[:1])+noun[1:]+" not found")
	case errors.Is(err, state.ErrConflict):
		api.WriteError(w, http.StatusConflict, "the "+noun+" was changed by another request: read it again")
	default:
		h.d.Logger.Error(noun+": state store failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not save the "+noun)
	}
}

// getObject answers GET …/{dataset}/{id} for an object of kind: the
// record decoded into a T, or the failure answered (ok false).
func getObject[T any](h *handler, w http.ResponseWriter, r *http.Request, kind state.Kind, noun string) (obj T, rec state.Record, ok bool) {
	if _, ok := h.checkDataset(w, r); !ok {
		return obj, rec, false
	}
	rec, err := h.d.State.Get(r.Context(), kind, env(r), markerKey(markerDataset(r), r.PathValue("id")))
	if err == nil {
		err = json.Unmarshal(rec.Value, &obj)
	}
	if err != nil {
		h.objectFailed(w, noun, err)
		return obj, rec, false
	}
	return obj, rec, true
}

// deleteObject answers DELETE …/{dataset}/{id} for an object of kind:
// 204, or 404 when there is none.
func (h *handler) deleteObject(w http.ResponseWriter, r *http.Request, kind state.Kind, noun string) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	if err := h.d.State.Delete(r.Context(), kind, env(r), markerKey(markerDataset(r), r.PathValue("id")), state.AnyVersion); err != nil {
		h.objectFailed(w, noun, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// decodeInput reads the request's JSON body into v, answering a failure:
// 413 past the size limit, 422 naming a field of the wrong type, 400 for
// a body that is not JSON ("could not parse the <noun>").
func decodeInput(w http.ResponseWriter, r *http.Request, v any, noun string) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			writeProblem(w, te.Field, "incorrect_type", fmt.Sprintf("%s: must be of type %s", te.Field, te.Type))
			return false
		}
		api.WriteError(w, http.StatusBadRequest, "could not parse the "+noun+": "+err.Error())
		return false
	}
	return true
}

// deleteWithState deletes, in tx, the record key of kind (at version) and
// the evaluation state kept under the same key in stateKind, if any.
func deleteWithState(tx state.Tx, kind, stateKind state.Kind, e, key string, version int64) error {
	if err := tx.Delete(kind, e, key, version); err != nil {
		return err
	}
	if err := tx.Delete(stateKind, e, key, state.AnyVersion); err != nil && !errors.Is(err, state.ErrNotFound) {
		return err
	}
	return nil
}

// checkNamed checks the name (required, at most maxName characters) and
// description (at most maxDescription) of a configuration object.
func checkNamed(name *string, description string, maxName, maxDescription int) error {
	switch {
	case name == nil || strings.TrimSpace(*name) == "":
		return missingField("name")
	case utf8.RuneCountInString(*name) > maxName:
		return badField("name", "must be at most %d characters", maxName)
	case utf8.RuneCountInString(description) > maxDescription:
		return badField("description", "must be at most %d characters", maxDescription)
	}
	return nil
}
