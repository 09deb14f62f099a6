package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// MarkersFile is the file that kept the markers in older data directories.
const MarkersFile = "markers.json"

// Marker is a Honeycomb marker: a point or span of time on charts.
type Marker struct {
	ID        string    `json:"id"`
	StartTime int64     `json:"start_time"`
	EndTime   *int64    `json:"end_time,omitempty"`
	Message   string    `json:"message"`
	Type      string    `json:"type"`
	URL       string    `json:"url"`
	Color     string    `json:"color"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// markerInput is what clients send; every field optional.
type markerInput struct {
	StartTime *int64  `json:"start_time"`
	EndTime   *int64  `json:"end_time"`
	Message   *string `json:"message"`
	Type      *string `json:"type"`
	URL       *string `json:"url"`
}

// kindMarker is the state kind of markers: one record per marker, scoped
// to its environment, keyed "<dataset>/<id>" (dataset "__all__" for the
// environment's own markers).
const kindMarker state.Kind = "honeycomb.marker"

func markerKey(ds, id string) string { return ds + "/" + id }

// storedMarker is a marker in the file markers.json of older data
// directories, with its dataset.
type storedMarker struct {
	Marker
	Dataset string `json:"dataset"`
}

type markersFile struct {
	// Markers by environment slug.
	Envs map[string][]storedMarker `json:"environments"`
}

// ImportMarkers moves the markers of an older data directory (dir/markers.json)
// into st, once: the file is renamed with .imported afterwards, and a
// marker already in st is left as it is.
func ImportMarkers(ctx context.Context, st state.Store, dir string) error {
	path := filepath.Join(dir, MarkersFile)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("markers: %w", err)
	}
	var data markersFile
	if err := json.Unmarshal(b, &data); err != nil {
		return fmt.Errorf("markers: %s is corrupt: %w", path, err)
	}
	err = st.Update(ctx, func(tx state.Tx) error {
		for env, list := range data.Envs {
			for _, m := range list {
				v, err := json.Marshal(m.Marker)
				if err != nil {
					return err
				}
				if _, err := tx.Put(state.Record{Kind: kindMarker, Scope: env, Key: markerKey(m.Dataset, m.ID), Value: v}, state.MustNotExist); err != nil && !errors.Is(err, state.ErrConflict) {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("markers: importing %s: %w", path, err)
	}
	return os.Rename(path, path+".imported")
}

// markerDataset is the key markers are kept under: the dataset's slug, or
// __all__ for environment markers.
func markerDataset(r *http.Request) string {
	ds := r.PathValue("dataset")
	if ds == query.AllDatasets {
		return ds
	}
	return store.Slug(ds)
}

func decodeMarker(w http.ResponseWriter, r *http.Request) (markerInput, bool) {
	var in markerInput
	if !decodeInput(w, r, &in, "marker") {
		return in, false
	}
	return in, true
}

func (in markerInput) apply(mk *Marker) {
	if in.StartTime != nil {
		mk.StartTime = *in.StartTime
	}
	if in.EndTime != nil {
		e := *in.EndTime
		mk.EndTime = &e
	}
	if in.Message != nil {
		mk.Message = *in.Message
	}
	if in.Type != nil {
		mk.Type = *in.Type
	}
	if in.URL != nil {
		mk.URL = *in.URL
	}
}

// Bounds of a marker's text fields and of the markers of an environment,
// so that listing an environment's markers stays small.
const (
	maxMarkerMessage  = 10_000
	maxMarkerType     = 256
	maxMarkerURL      = 2_048
	defaultMaxMarkers = 10_000
)

func validMarker(w http.ResponseWriter, mk *Marker) bool {
	for _, f := range []struct {
		name, value string
		max         int
	}{{"message", mk.Message, maxMarkerMessage}, {"type", mk.Type, maxMarkerType}, {"url", mk.URL, maxMarkerURL}} {
		if len(f.value) > f.max {
			writeProblem(w, f.name, "invalid", fmt.Sprintf("%s: must be at most %d bytes, got %d", f.name, f.max, len(f.value)))
			return false
		}
	}
	if mk.StartTime < 0 {
		writeProblem(w, "start_time", "invalid", "start_time: must be a Unix time in seconds")
		return false
	}
	if mk.EndTime != nil && *mk.EndTime < mk.StartTime {
		writeProblem(w, "end_time", "invalid", "end_time: must not be before start_time")
		return false
	}
	return true
}

// saveFailed answers a failed read or write of a marker: a conflict means
// another request changed it first.
func (h *handler) saveFailed(w http.ResponseWriter, err error) {
	h.objectFailed(w, "marker", err)
}

func (h *handler) createMarker(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok { // 404 on a dataset that does not exist, as Honeycomb answers
		return
	}
	in, ok := decodeMarker(w, r)
	if !ok {
		return
	}
	now := h.d.Now().UTC()
	mk := Marker{ID: randomID(5), StartTime: now.Unix(), CreatedAt: now, UpdatedAt: now}
	in.apply(&mk)
	if !validMarker(w, &mk) {
		return
	}
	v, err := json.Marshal(mk)
	if err != nil {
		h.saveFailed(w, err)
		return
	}
	full := false
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		n, err := tx.Count(kindMarker, env(r))
		if err != nil {
			return err
		}
		if full = n >= h.d.MaxMarkers; full {
			return nil
		}
		_, err = tx.Put(state.Record{Kind: kindMarker, Scope: env(r), Key: markerKey(markerDataset(r), mk.ID), Value: v}, state.MustNotExist)
		return err
	})
	switch {
	case err != nil:
		h.saveFailed(w, err)
	case full:
		writeProblem(w, "markers", "invalid", fmt.Sprintf("an environment holds at most %d markers: delete some first", h.d.MaxMarkers))
	default:
		h.colorMarker(r, &mk)
		api.WriteJSON(w, http.StatusCreated, mk)
	}
}

func (h *handler) listMarkers(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok { // 404 on a dataset that does not exist, as Honeycomb answers
		return
	}
	recs, err := h.d.State.List(r.Context(), kindMarker, env(r))
	if err != nil {
		h.d.Logger.Error("reading markers failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not read the markers")
		return
	}
	colors, err := h.markerColors(r, markerDataset(r))
	if err != nil {
		h.d.Logger.Error("reading marker settings failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not read the markers")
		return
	}
	prefix := markerDataset(r) + "/"
	out := []Marker{}
	for _, rec := range recs {
		if !strings.HasPrefix(rec.Key, prefix) {
			continue
		}
		var mk Marker
		if err := json.Unmarshal(rec.Value, &mk); err != nil {
			h.d.Logger.Error("a stored marker is corrupt", "key", rec.Key, "err", err)
			continue
		}
		mk.Color = colors[mk.Type] // its type's setting, as Honeycomb shows it
		out = append(out, mk)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime < out[j].StartTime })
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) updateMarker(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok { // 404 on a dataset that does not exist, as Honeycomb answers
		return
	}
	in, ok := decodeMarker(w, r)
	if !ok {
		return
	}
	key := markerKey(markerDataset(r), r.PathValue("id"))
	var mk Marker
	invalid := false
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindMarker, env(r), key)
		if err != nil {
			return err
		}
		var prev Marker
		if err := json.Unmarshal(rec.Value, &prev); err != nil {
			return err
		}
		// PUT replaces: fields not sent are cleared, start_time defaults to now.
		mk = Marker{ID: prev.ID, StartTime: h.d.Now().Unix(), CreatedAt: prev.CreatedAt, UpdatedAt: h.d.Now().UTC()}
		in.apply(&mk)
		if invalid = !validMarker(w, &mk); invalid {
			return nil
		}
		v, err := json.Marshal(mk)
		if err != nil {
			return err
		}
		_, err = tx.Put(state.Record{Kind: kindMarker, Scope: env(r), Key: key, Value: v}, rec.Version)
		return err
	})
	switch {
	case err != nil:
		h.saveFailed(w, err)
	case !invalid:
		h.colorMarker(r, &mk)
		api.WriteJSON(w, http.StatusOK, mk)
	}
}

// colorMarker sets a marker's color from its type's marker setting (none:
// no color).
func (h *handler) colorMarker(r *http.Request, mk *Marker) {
	colors, err := h.markerColors(r, markerDataset(r))
	if err != nil {
		h.d.Logger.Warn("reading marker settings failed", "err", err)
	}
	mk.Color = colors[mk.Type]
}

func (h *handler) deleteMarker(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok { // 404 on a dataset that does not exist, as Honeycomb answers
		return
	}
	key := markerKey(markerDataset(r), r.PathValue("id"))
	var gone Marker
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindMarker, env(r), key)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Value, &gone); err != nil {
			return err
		}
		return tx.Delete(kindMarker, env(r), key, rec.Version)
	})
	if err != nil {
		h.saveFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, gone)
}
