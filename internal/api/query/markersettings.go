package query

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// MarkerSetting is a Honeycomb marker setting: the colour of a dataset's
// (or, under __all__, the environment's) markers of one type. A marker's
// color is its setting's, the dataset's before the environment's.
type MarkerSetting struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Color     string    `json:"color"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// kindMarkerSetting is the state kind of marker settings: one record
// each, scoped to its environment, keyed "<dataset>/<id>" as markers are.
const kindMarkerSetting state.Kind = "honeycomb.marker-setting"

var hexColor = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)

// decodeMarkerSetting reads and checks a marker setting's type and color,
// answering 400/422 as Honeycomb does.
func decodeMarkerSetting(w http.ResponseWriter, r *http.Request) (MarkerSetting, bool) {
	body, ok := readBody(w, r)
	if !ok {
		return MarkerSetting{}, false
	}
	var in struct {
		Type  *string `json:"type"`
		Color *string `json:"color"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		api.WriteError(w, http.StatusBadRequest, "could not parse the marker setting: "+err.Error())
		return MarkerSetting{}, false
	}
	switch {
	case in.Type == nil || strings.TrimSpace(*in.Type) == "":
		writeProblem(w, "type", "missing", "type: is required")
		return MarkerSetting{}, false
	case len(*in.Type) > maxMarkerType:
		writeProblem(w, "type", "invalid", fmt.Sprintf("type: must be at most %d bytes", maxMarkerType))
		return MarkerSetting{}, false
	case in.Color == nil || !hexColor.MatchString(*in.Color):
		writeProblem(w, "color", "invalid", "color: must be a hex color such as #DF4661")
		return MarkerSetting{}, false
	}
	return MarkerSetting{Type: *in.Type, Color: *in.Color}, true
}

// markerSettings returns the settings of a dataset (its slug, or __all__)
// in env, ordered by type.
func (h *handler) markerSettings(r *http.Request, ds string) ([]MarkerSetting, []state.Record, error) {
	recs, err := h.d.State.List(r.Context(), kindMarkerSetting, env(r))
	if err != nil {
		return nil, nil, err
	}
	var out []MarkerSetting
	var mine []state.Record
	for _, rec := range recs {
		if !strings.HasPrefix(rec.Key, ds+"/") {
			continue
		}
		var s MarkerSetting
		if err := json.Unmarshal(rec.Value, &s); err != nil {
			return nil, nil, fmt.Errorf("marker setting %s: %w", rec.Key, err)
		}
		out = append(out, s)
		mine = append(mine, rec)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out, mine, nil
}

// markerColors maps marker types to their colors for a dataset: the
// environment's settings, overridden by the dataset's.
func (h *handler) markerColors(r *http.Request, ds string) (map[string]string, error) {
	colors := map[string]string{}
	sets := []string{query.AllDatasets}
	if ds != query.AllDatasets {
		sets = append(sets, ds)
	}
	for _, d := range sets {
		list, _, err := h.markerSettings(r, d)
		if err != nil {
			return nil, err
		}
		for _, s := range list {
			colors[s.Type] = s.Color
		}
	}
	return colors, nil
}

func (h *handler) settingFailed(w http.ResponseWriter, err error) {
	h.objectFailed(w, "marker setting", err)
}

func (h *handler) listMarkerSettings(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	list, _, err := h.markerSettings(r, markerDataset(r))
	if err != nil {
		h.settingFailed(w, err)
		return
	}
	if list == nil {
		list = []MarkerSetting{}
	}
	api.WriteJSON(w, http.StatusOK, list)
}

// createMarkerSetting answers 201 with the new setting; a type that has
// one in the dataset already is 409.
func (h *handler) createMarkerSetting(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	s, ok := decodeMarkerSetting(w, r)
	if !ok {
		return
	}
	ds := markerDataset(r)
	now := h.d.Now().UTC()
	s.ID, s.CreatedAt, s.UpdatedAt = randomID(5), now, now
	v, _ := json.Marshal(s)
	exists := false
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		recs, err := tx.List(kindMarkerSetting, env(r))
		if err != nil {
			return err
		}
		for _, rec := range recs {
			var o MarkerSetting
			if strings.HasPrefix(rec.Key, ds+"/") && json.Unmarshal(rec.Value, &o) == nil && o.Type == s.Type {
				exists = true
				return nil
			}
		}
		_, err = tx.Put(state.Record{Kind: kindMarkerSetting, Scope: env(r), Key: markerKey(ds, s.ID), Value: v}, state.MustNotExist)
		return err
	})
	switch {
	case err != nil:
		h.settingFailed(w, err)
	case exists:
		api.WriteError(w, http.StatusConflict, "a marker setting for type "+s.Type+" exists: update it instead",
			api.ProblemItem{Field: "type", Code: "already_exists", Description: "a marker setting for type " + s.Type + " exists"})
	default:
		api.WriteJSON(w, http.StatusCreated, s)
	}
}

func (h *handler) updateMarkerSetting(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	in, ok := decodeMarkerSetting(w, r)
	if !ok {
		return
	}
	key := markerKey(markerDataset(r), r.PathValue("id"))
	var s MarkerSetting
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		rec, err := tx.Get(kindMarkerSetting, env(r), key)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Value, &s); err != nil {
			return err
		}
		s.Type, s.Color, s.UpdatedAt = in.Type, in.Color, h.d.Now().UTC()
		v, _ := json.Marshal(s)
		_, err = tx.Put(state.Record{Kind: kindMarkerSetting, Scope: env(r), Key: key, Value: v}, rec.Version)
		return err
	})
	if err != nil {
		h.settingFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, s)
}

func (h *handler) deleteMarkerSetting(w http.ResponseWriter, r *http.Request) {
	h.deleteObject(w, r, kindMarkerSetting, "marker setting")
}
