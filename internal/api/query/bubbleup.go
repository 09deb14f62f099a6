package query

// BubbleUp over the Query API:
//
//	POST /1/bubbleup/{dataset}   compare a selection of a query's events
//	                             with the rest (its baseline), column by column
//
// Honeycomb has no REST endpoint for BubbleUp (its UI and its MCP server's
// BubbleUp tool run it on a query and a selected region of its heatmap);
// this one takes the same two things: the query, saved (query_id, as POST
// /1/query_results takes it) or inline (query, a query specification),
// and a selection:
//
//	{"query_id": "…" | "query": {…spec…},
//	 "selection": {"start_time": 1767225600, "end_time": 1767226200,   // Unix seconds, fractions allowed
//	               "column": "duration_ms", "min": 500, "max": 2000,    // a heatmap region, inclusive
//	               "group": [{"column": "name", "value": "GET /"}]},    // a group row (null: without the column)
//	 "doors": ["honeycomb", "xray"],                                    // whose data: default ["honeycomb"]
//	 "max_values": 10}
//
// It answers 200 with query.BubbleUpResult: selection_count,
// baseline_count and the columns, most different first. Permission, key,
// environment and dataset resolution are those of POST /1/query_results;
// "doors" adds the environment's X-Ray part (what was sent to X-Ray's
// doors, store.DoorEnv), whose datasets are looked up there. A body that
// is not JSON is a 400; a selection that cannot be computed (empty, out
// of the query's range, without events, min above max, …) a 422 naming
// the field.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/store"
)

type bubbleUpRequest struct {
	QueryID   string            `json:"query_id"`
	Query     json.RawMessage   `json:"query"`
	Selection bubbleUpSelection `json:"selection"`
	Doors     []string          `json:"doors"`
	MaxValues int               `json:"max_values"`
}

type bubbleUpSelection struct {
	StartTime *float64             `json:"start_time"`
	EndTime   *float64             `json:"end_time"`
	Column    string               `json:"column"`
	Min       *float64             `json:"min"`
	Max       *float64             `json:"max"`
	Group     []bubbleUpGroupValue `json:"group"`
}

type bubbleUpGroupValue struct {
	Column string `json:"column"`
	Value  any    `json:"value"`
}

// unixTime converts Unix seconds (with a fraction) to a time.
func unixTime(field string, s *float64) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	if math.IsNaN(*s) || *s < 0 || *s > 1<<34 {
		return time.Time{}, &query.Error{Status: http.StatusUnprocessableEntity, Field: field, Code: "invalid", Msg: "must be a time in Unix seconds"}
	}
	sec, frac := math.Modf(*s)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

func (h *handler) bubbleUp(w http.ResponseWriter, r *http.Request) {
	var req bubbleUpRequest
	if !decodeInput(w, r, &req, "request body") {
		return
	}
	e := env(r)
	doors, ok := parseDoors(w, req.Doors)
	if !ok {
		return
	}
	ds, envs, ok := h.doorDatasets(w, r, e, doors)
	if !ok {
		return
	}
	var spec query.Spec
	switch {
	case req.QueryID != "" && len(req.Query) > 0:
		writeProblem(w, "query", "invalid", "query: give either query_id or query, not both")
		return
	case req.QueryID != "":
		if spec, ok = h.loadQuery(w, r, req.QueryID); !ok {
			return
		}
	case len(req.Query) > 0:
		var err error
		if spec, err = query.DecodeSpec(strings.NewReader(string(req.Query))); err == nil {
			err = spec.Validate()
		}
		if err != nil {
			writeSpecError(w, err)
			return
		}
	default:
		writeProblem(w, "query_id", "missing", "query_id: is required (or query, a query specification)")
		return
	}
	start, err := unixTime("selection.start_time", req.Selection.StartTime)
	if err != nil {
		writeSpecError(w, err)
		return
	}
	end, err := unixTime("selection.end_time", req.Selection.EndTime)
	if err != nil {
		writeSpecError(w, err)
		return
	}
	sel := query.Selection{Start: start, End: end, Column: req.Selection.Column, Min: req.Selection.Min, Max: req.Selection.Max}
	for _, g := range req.Selection.Group {
		sel.Group = append(sel.Group, query.GroupValue(g))
	}
	plan, err := PlanSpec(r.Context(), h.d.State, e, ds, spec, h.d.Now())
	var ed errDerived
	if errors.As(err, &ed) {
		h.stateFailed(w, "reading derived columns", ed.err)
		return
	}
	if err != nil {
		writeSpecError(w, err)
		return
	}
	var cols []store.Column
	colDataset := ds
	if ds == query.AllDatasets {
		colDataset = ""
	}
	for _, env := range envs {
		list, err := h.d.Store.Columns(r.Context(), env, colDataset)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.d.Logger.Error("listing columns failed", "err", err)
			api.WriteError(w, http.StatusInternalServerError, "could not read columns")
			return
		}
		cols = append(cols, list...)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.d.QueryTimeout)
	defer cancel()
	res, err := query.BubbleUp(ctx, h.d.Store, query.BubbleUpRequest{
		Envs: envs, Plan: plan, Dataset: ds, Selection: sel, Columns: cols, MaxValues: req.MaxValues,
	})
	var qe *query.Error
	if errors.As(err, &qe) {
		writeSpecError(w, err)
		return
	}
	if err != nil {
		h.runFailed(w, r, ctx, "selection", err)
		return
	}
	api.WriteJSON(w, http.StatusOK, res)
}

// parseDoors reads a request's "doors": whose data it reads, by the
// doors it was sent to (default: Honeycomb's). A name that is not a door
// is a 422 naming it.
func parseDoors(w http.ResponseWriter, names []string) ([]model.Door, bool) {
	doors := []model.Door{model.DoorHoneycomb}
	if len(names) == 0 {
		return doors, true
	}
	doors = doors[:0]
	for i, name := range names {
		d, ok := model.ParseDoor(name)
		if !ok {
			writeProblem(w, fmt.Sprintf("doors[%d]", i), "invalid", fmt.Sprintf("doors[%d]: must be \"honeycomb\" or \"xray\", got %q", i, name))
			return nil, false
		}
		if !containsDoor(doors, d) {
			doors = append(doors, d)
		}
	}
	return doors, true
}

func containsDoor(l []model.Door, d model.Door) bool {
	for _, x := range l {
		if x == d {
			return true
		}
	}
	return false
}

// doorDatasets resolves {dataset} in each door's part of environment e:
// the dataset's slug (or __all__) and the store environments that hold
// it. 404 when no door has it.
func (h *handler) doorDatasets(w http.ResponseWriter, r *http.Request, e string, doors []model.Door) (string, []string, bool) {
	name := r.PathValue("dataset")
	var envs []string
	slug := ""
	for _, d := range doors {
		de := store.DoorEnv(e, d)
		if name == query.AllDatasets {
			envs = append(envs, de)
			continue
		}
		var list []store.Dataset
		var err error
		if d == model.DoorHoneycomb {
			list, err = h.datasets(r.Context(), e)
		} else {
			list, err = h.d.Store.Datasets(r.Context(), de)
		}
		if err != nil {
			h.d.Logger.Error("listing datasets failed", "err", err)
			api.WriteError(w, http.StatusInternalServerError, "could not read datasets")
			return "", nil, false
		}
		for _, ds := range list {
			if ds.Slug == name || strings.EqualFold(ds.Name, name) {
				slug = ds.Slug
				envs = append(envs, de)
				break
			}
		}
	}
	if name == query.AllDatasets {
		return name, envs, true
	}
	if len(envs) == 0 {
		api.WriteError(w, http.StatusNotFound, "Dataset not found")
		return "", nil, false
	}
	return slug, envs, true
}
