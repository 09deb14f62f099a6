// Package honeycomb serves Honeycomb's v1 API surface over tracecomb's
// store: /1/auth, /1/datasets and /1/columns (listed, created, updated
// and deleted; what users set kept in the state store),
// /1/dataset_definitions (read and patched), and tracecomb's own trace
// endpoint /api/traces/{trace_id}, which the web UI uses too. Every request
// is scoped to the environment of its key. Datasets and columns are those
// of the events sent to Honeycomb's doors only (store.DoorEnv), as
// Honeycomb would show them; /api/traces joins both services' events.
package honeycomb

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Reader is what the handlers read from the store (and delete there).
type Reader interface {
	Trace(ctx context.Context, env string, id model.TraceID) ([]model.Event, error)
	Datasets(ctx context.Context, env string) ([]store.Dataset, error)
	Columns(ctx context.Context, env, dataset string) ([]store.Column, error)
	DeleteDataset(ctx context.Context, env, dataset string) error
	DeleteColumn(ctx context.Context, env, dataset, column string) error
}

// Deps are the handler's collaborators.
type Deps struct {
	Auth   auth.Authenticator
	Store  Reader
	State  state.Store // datasets' settings
	Logger *slog.Logger
	// Tenancy serves the team's /2 API for environments and API keys; Auth
	// when it is one (auth.Registry).
	Tenancy Tenancy
	// Definitions, when set, is told of the dataset definitions PATCH
	// changes at once (other nodes' caches follow the state store).
	Definitions *Definitions
	// TraceTimeout is the time budget of one /api/traces read (default
	// 30 s): past it the store stops the read and the answer is 503.
	TraceTimeout time.Duration
}

// Register adds the routes to mux.
func Register(mux *http.ServeMux, d Deps) {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.TraceTimeout <= 0 {
		d.TraceTimeout = 30 * time.Second
	}
	h := &handler{d}
	route := func(pattern string, perm auth.Permission, fn http.HandlerFunc) {
		mux.Handle(pattern, api.RequireKey(d.Auth, perm, fn))
	}
	route("GET /1/auth", auth.PermAnyKey, h.auth)
	route("GET /1/datasets", auth.PermRead, h.datasets)
	route("GET /1/datasets/{slug}", auth.PermRead, h.dataset)
	route("POST /1/datasets", auth.PermCreateDatasets, h.createDataset)
	route("PUT /1/datasets/{slug}", auth.PermCreateDatasets, h.updateDataset)
	route("DELETE /1/datasets/{slug}", auth.PermCreateDatasets, h.deleteDataset)
	route("GET /1/columns/{dataset}", auth.PermColumns, h.columns)
	route("GET /1/columns/{dataset}/{id}", auth.PermColumns, h.column)
	route("POST /1/columns/{dataset}", auth.PermColumns, h.createColumn)
	route("PUT /1/columns/{dataset}/{id}", auth.PermColumns, h.updateColumn)
	route("DELETE /1/columns/{dataset}/{id}", auth.PermColumns, h.deleteColumn)
	route("GET /1/dataset_definitions/{dataset}", auth.PermCreateDatasets, h.getDefinitions)
	route("PATCH /1/dataset_definitions/{dataset}", auth.PermCreateDatasets, h.patchDefinitions)
	route("GET /api/traces/{trace_id}", auth.PermQueries, h.trace)
	mux.Handle("GET /2/auth", api.RequireManagementKey(d.Auth, http.HandlerFunc(h.auth2)))
	if d.Tenancy == nil {
		d.Tenancy, _ = d.Auth.(Tenancy)
	}
	if d.Tenancy != nil {
		registerV2(mux, d)
	}
}

type handler struct{ d Deps }

// auth answers /1/auth as Honeycomb does for the key's kind: an ingest key
// reports only createDatasets, a configuration key its permissions (with
// create_datasets spelled both ways, as Terraform reads it); a key from
// before kinds reports every permission, as it may do everything.
func (h *handler) auth(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	typ := "configuration"
	access := map[string]bool{}
	if p.Kind == auth.KindIngest {
		typ = "ingest"
		access[string(auth.PermCreateDatasets)] = p.Can(auth.PermCreateDatasets)
	} else {
		for _, perm := range auth.Permissions() {
			access[string(perm)] = p.Can(perm)
		}
		access["create_datasets"] = access[string(auth.PermCreateDatasets)]
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{
		"id":             p.KeyID,
		"type":           typ,
		"api_key_access": access,
		"environment":    map[string]string{"name": p.EnvName, "slug": p.Env},
		"team":           map[string]string{"name": p.Team, "slug": auth.EnvSlug(p.Team)},
	})
}

// auth2 answers /2/auth for a management key, in JSON:API as Honeycomb's
// v2 API does: the key, its scopes and its team.
func (h *handler) auth2(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	team := auth.EnvSlug(p.Team)
	b, _ := json.Marshal(map[string]any{
		"data": map[string]any{
			"id": p.KeyID, "type": "api-keys",
			"attributes": map[string]any{
				"name": p.KeyName, "key_type": string(auth.KindManagement), "disabled": false,
				"scopes": []string{"api-keys:read", "api-keys:write", "environments:read", "environments:write"},
			},
			"relationships": map[string]any{"team": map[string]any{"data": map[string]string{"id": team, "type": "teams"}}},
		},
		"included": []map[string]any{{"id": team, "type": "teams", "attributes": map[string]string{"name": p.Team, "slug": team}}},
	})
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

type datasetJSON struct {
	Name                string         `json:"name"`
	Description         string         `json:"description"`
	Slug                string         `json:"slug"`
	ExpandJSONDepth     int            `json:"expand_json_depth"`
	Settings            map[string]any `json:"settings"`
	CreatedAt           time.Time      `json:"created_at"`
	LastWrittenAt       *time.Time     `json:"last_written_at"`
	RegularColumnsCount *int           `json:"regular_columns_count"`
}

func toDatasetJSON(d store.Dataset) datasetJSON {
	out := datasetJSON{
		Name: d.Name, Slug: d.Slug, CreatedAt: d.CreatedAt.UTC(),
		Settings: map[string]any{"delete_protected": false},
	}
	if !d.LastWrittenAt.IsZero() {
		t := d.LastWrittenAt.UTC()
		out.LastWrittenAt = &t
	}
	n := d.Columns
	out.RegularColumnsCount = &n
	return out
}

// trace answers tracecomb's joined view of a trace: the events sent to
// Honeycomb's doors and to X-Ray's with this trace id (?door=honeycomb or
// ?door=xray reads one only), ordered by time, each marked with
// meta.tracecomb.door (the service it was sent to) and
// meta.tracecomb.source (how it was encoded: otlp, xray or events). X-Ray's
// events include those of traces Transaction Search left unindexed
// (store.DoorParts). The Honeycomb and X-Ray APIs never join them: each
// shows only its own.
func (h *handler) trace(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	id, err := model.ParseTraceID(r.PathValue("trace_id"))
	if err != nil {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	doors := []model.Door{model.DoorHoneycomb, model.DoorXRay}
	if v := r.URL.Query().Get("door"); v != "" {
		d, ok := model.ParseDoor(v)
		if !ok {
			api.WriteError(w, http.StatusBadRequest, "door must be honeycomb or xray")
			return
		}
		doors = []model.Door{d}
	}
	type marked struct {
		ev   *model.Event
		door model.Door
	}
	var all []marked
	var present []string
	ctx, cancel := context.WithTimeout(r.Context(), h.d.TraceTimeout)
	defer cancel()
	for _, d := range doors {
		found := false
		for _, part := range store.DoorParts(p.Env, d) {
			events, err := h.d.Store.Trace(ctx, part, id)
			if err != nil {
				h.traceFailed(ctx, w, r, err)
				return
			}
			found = found || len(events) > 0
			for i := range events {
				all = append(all, marked{&events[i], d})
			}
		}
		if found {
			present = append(present, d.String())
		}
	}
	if len(all) == 0 {
		api.WriteError(w, http.StatusNotFound, "trace not found")
		return
	}
	slices.SortStableFunc(all, func(a, b marked) int { return a.ev.Time.Compare(b.ev.Time) })
	buf := make([]byte, 0, 512*len(all))
	buf = append(buf, `{"trace_id":"`...)
	buf = append(buf, id.String()...)
	buf = append(buf, `","doors":["`...)
	buf = append(buf, strings.Join(present, `","`)...)
	buf = append(buf, `"],"events":[`...)
	for i, m := range all {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = m.ev.AppendJSON(buf)
		buf = buf[:len(buf)-1] // reopen the object to mark it
		buf = append(buf, `,"meta.tracecomb.door":"`...)
		buf = append(buf, m.door.String()...)
		buf = append(buf, `","meta.tracecomb.source":"`...)
		buf = append(buf, m.ev.Source.String()...)
		buf = append(buf, `"}`...)
	}
	buf = append(buf, "]}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(buf) //nolint:errcheck // the client went away
}

// traceFailed answers a trace read the store could not do. Past the
// store's memory limit it is 422 with the reason: reading the same trace
// fails the same way until the limit is raised, so a retry cannot help.
// Past the time budget it is 503 with Retry-After: how long a read takes
// depends on what else the store is doing.
func (h *handler) traceFailed(ctx context.Context, w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil:
		return // the client went away
	case errors.Is(err, store.ErrQueryTooLarge):
		msg := "reading this trace needs more memory than the store may use (--store-memory-limit): read one door's part of it (?door=xray or ?door=honeycomb), or raise the limit"
		h.d.Logger.Warn("trace read past the store's memory limit", "err", err)
		api.WriteError(w, http.StatusUnprocessableEntity, msg, api.ProblemItem{Field: "trace_id", Code: "too_large", Description: msg})
	case errors.Is(err, store.ErrUnavailable):
		// A server or shard of the store is down: never half a trace.
		h.d.Logger.Warn("trace read while the store is unavailable", "err", err)
		w.Header().Set("Retry-After", "5")
		api.WriteError(w, http.StatusServiceUnavailable, "the trace cannot be read now: "+err.Error())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		h.d.Logger.Warn("trace read past its time budget", "budget", h.d.TraceTimeout)
		w.Header().Set("Retry-After", "5")
		api.WriteError(w, http.StatusServiceUnavailable, "reading this trace ran past its time budget of "+h.d.TraceTimeout.String()+" and was stopped; retry later")
	default:
		h.internal(w, "read trace", err)
	}
}

func (h *handler) internal(w http.ResponseWriter, what string, err error) {
	h.d.Logger.Error("cannot "+what, "err", err)
	api.WriteError(w, http.StatusInternalServerError, "internal error: cannot "+what)
}
