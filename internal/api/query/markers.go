package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/fsutil"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/store"
)

// MarkersFile is the file name of the markers under Deps.MarkersDir.
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

// storedMarker is a marker in the file, with its dataset.
type storedMarker struct {
	Marker
	Dataset string `json:"dataset"`
}

type markersFile struct {
	// Markers by environment slug.
	Envs map[string][]storedMarker `json:"environments"`
}

// markerStore keeps markers in memory and, when path is set, in a JSON
// file rewritten atomically (temporary file, fsync, rename) on each change.
type markerStore struct {
	mu   sync.Mutex
	path string
	now  func() time.Time
	data markersFile
}

func openMarkers(dir string, now func() time.Time) (*markerStore, error) {
	m := &markerStore{now: now, data: markersFile{Envs: map[string][]storedMarker{}}}
	if dir == "" {
		return m, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("markers: %w", err)
	}
	m.path = filepath.Join(dir, MarkersFile)
	b, err := os.ReadFile(m.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("markers: %w", err)
	}
	if err := json.Unmarshal(b, &m.data); err != nil {
		return nil, fmt.Errorf("markers: %s is corrupt: %w", m.path, err)
	}
	if m.data.Envs == nil {
		m.data.Envs = map[string][]storedMarker{}
	}
	return m, nil
}

func (m *markerStore) save() error {
	if m.path == "" {
		return nil
	}
	b, err := json.MarshalIndent(m.data, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(m.path, b, 0o644)
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
	body, ok := readBody(w, r)
	if !ok {
		return markerInput{}, false
	}
	var in markerInput
	if err := json.Unmarshal(body, &in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			writeProblem(w, te.Field, "incorrect_type", fmt.Sprintf("%s: must be of type %s", te.Field, te.Type))
			return in, false
		}
		api.WriteError(w, http.StatusBadRequest, "could not parse the marker: "+err.Error())
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

// Bounds of a marker's text fields, so that markers (kept whole in memory
// and in their file) stay small.
const (
	maxMarkerMessage = 10_000
	maxMarkerType    = 256
	maxMarkerURL     = 2_048
	maxMarkersPerEnv = 10_000
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
	m := h.markers
	m.mu.Lock()
	defer m.mu.Unlock()
	e := env(r)
	old := m.data.Envs[e]
	if len(old) >= maxMarkersPerEnv {
		writeProblem(w, "markers", "invalid", fmt.Sprintf("an environment holds at most %d markers: delete some first", maxMarkersPerEnv))
		return
	}
	m.data.Envs[e] = append(old[:len(old):len(old)], storedMarker{Marker: mk, Dataset: markerDataset(r)})
	if err := m.save(); err != nil {
		m.data.Envs[e] = old
		h.d.Logger.Error("saving markers failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not save the marker")
		return
	}
	api.WriteJSON(w, http.StatusCreated, mk)
}

func (h *handler) listMarkers(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok { // 404 on a dataset that does not exist, as Honeycomb answers
		return
	}
	m := h.markers
	ds := markerDataset(r)
	m.mu.Lock()
	out := []Marker{}
	for _, s := range m.data.Envs[env(r)] {
		if s.Dataset == ds {
			out = append(out, s.Marker)
		}
	}
	m.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime < out[j].StartTime })
	api.WriteJSON(w, http.StatusOK, out)
}

// find returns the index of the marker, or -1.
func (m *markerStore) find(env, ds, id string) int {
	for i, s := range m.data.Envs[env] {
		if s.Dataset == ds && s.ID == id {
			return i
		}
	}
	return -1
}

func (h *handler) updateMarker(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok { // 404 on a dataset that does not exist, as Honeycomb answers
		return
	}
	in, ok := decodeMarker(w, r)
	if !ok {
		return
	}
	m := h.markers
	m.mu.Lock()
	defer m.mu.Unlock()
	e := env(r)
	i := m.find(e, markerDataset(r), r.PathValue("id"))
	if i < 0 {
		api.WriteError(w, http.StatusNotFound, "Marker not found")
		return
	}
	prev := m.data.Envs[e][i]
	// PUT replaces: fields not sent are cleared, start_time defaults to now.
	mk := Marker{ID: prev.ID, StartTime: h.d.Now().Unix(), CreatedAt: prev.CreatedAt, UpdatedAt: h.d.Now().UTC()}
	in.apply(&mk)
	if !validMarker(w, &mk) {
		return
	}
	m.data.Envs[e][i].Marker = mk
	if err := m.save(); err != nil {
		m.data.Envs[e][i] = prev
		h.d.Logger.Error("saving markers failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not save the marker")
		return
	}
	api.WriteJSON(w, http.StatusOK, mk)
}

func (h *handler) deleteMarker(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok { // 404 on a dataset that does not exist, as Honeycomb answers
		return
	}
	m := h.markers
	m.mu.Lock()
	defer m.mu.Unlock()
	e := env(r)
	i := m.find(e, markerDataset(r), r.PathValue("id"))
	if i < 0 {
		api.WriteError(w, http.StatusNotFound, "Marker not found")
		return
	}
	old := m.data.Envs[e]
	gone := old[i]
	next := append(append([]storedMarker(nil), old[:i]...), old[i+1:]...)
	m.data.Envs[e] = next
	if err := m.save(); err != nil {
		m.data.Envs[e] = old
		h.d.Logger.Error("saving markers failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not delete the marker")
		return
	}
	api.WriteJSON(w, http.StatusOK, gone.Marker)
}
