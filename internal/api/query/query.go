// Package query serves Honeycomb's Query Data API and Markers API:
//
//	POST /1/queries/{dataset}             create a query (validated, not run) → 200 spec + id
//	GET  /1/queries/{dataset}/{id}        read it back
//	POST /1/query_results/{dataset}       run a query → 201 + Location
//	GET  /1/query_results/{dataset}/{id}  the result: complete, data.results, data.series, links
//	POST /1/bubbleup/{dataset}            BubbleUp: a selection vs the rest (bubbleup.go)
//	POST|GET /1/markers/{dataset}, PUT|DELETE /1/markers/{dataset}/{id}
//	POST|GET /1/marker_settings/{dataset}, PUT|DELETE /1/marker_settings/{dataset}/{id}
//	POST|GET /1/query_annotations/{dataset}, GET|PUT|DELETE /1/query_annotations/{dataset}/{id}
//	POST|GET /1/derived_columns/{dataset}, GET|PUT|DELETE /1/derived_columns/{dataset}/{id}
//	                                      (used by alias in queries as columns)
//	POST|GET /1/recipients, GET|PUT|DELETE /1/recipients/{id}
//	POST|GET /1/triggers/{dataset}, GET|PUT|DELETE /1/triggers/{dataset}/{id}
//	                                      (evaluated by internal/alerting)
//	POST|GET /1/boards, GET|PUT|DELETE /1/boards/{boardId}
//	POST|GET /1/boards/{boardId}/views, GET|PUT|DELETE /1/boards/{boardId}/views/{viewId}
//
// {dataset} "__all__" means the whole environment. Every request is scoped
// to the environment of its key.
//
// Queries, results and markers live in the state store (Deps.State), so
// every node sees them and they survive restarts. Queries are
// content-addressed (equal specs get equal ids) and kept; an environment
// holds at most Deps.MaxQueries. Results are kept for Deps.ResultTTL (a
// day), at most Deps.MaxResults per environment, the oldest giving way.
// Queries run synchronously while the result is created (bounded by
// Deps.QueryTimeout), so a created result is already complete.
// Honeycomb's per-minute rate limit on query results is not applied.
package query

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Store is what the handlers need of the store.
type Store interface {
	store.Aggregator
	Datasets(ctx context.Context, env string) ([]store.Dataset, error)
	// Columns lists a dataset's columns: triggers and SLOs may name only
	// those (or derived columns).
	Columns(ctx context.Context, env, dataset string) ([]store.Column, error)
}

// Deps are the handlers' collaborators and settings.
type Deps struct {
	Auth   auth.Authenticator // required
	Store  Store              // required
	Logger *slog.Logger
	// State keeps the markers (required).
	State state.Store
	// UIURL is the base of the links in query results, e.g.
	// "http://localhost:8080"; "" gives links relative to the UI's root.
	UIURL string
	// QueryTimeout bounds one query run (--query-timeout); default 10 s.
	// A query past it is stopped in the store and answered 504.
	QueryTimeout time.Duration
	// MaxQueries is the number of queries an environment may hold
	// (default 10000); MaxResults the number of results it keeps (default
	// 1000), for ResultTTL (default 24 h).
	MaxQueries, MaxResults int
	ResultTTL              time.Duration
	// MaxMarkers is the number of markers an environment may hold; default
	// 10000.
	MaxMarkers int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

const maxBody = 1 << 20

// Register adds the routes to mux.
func Register(mux *http.ServeMux, d Deps) error {
	if d.Auth == nil || d.Store == nil || d.State == nil {
		return errors.New("query: Deps.Auth, Store and State are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.QueryTimeout <= 0 {
		d.QueryTimeout = 10 * time.Second
	}
	if d.MaxQueries <= 0 {
		d.MaxQueries = 10000
	}
	if d.MaxResults <= 0 {
		d.MaxResults = 1000
	}
	if d.ResultTTL <= 0 {
		d.ResultTTL = 24 * time.Hour
	}
	if d.MaxMarkers <= 0 {
		d.MaxMarkers = defaultMaxMarkers
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &handler{d: d}
	route := func(pattern string, perm auth.Permission, fn http.HandlerFunc) {
		mux.Handle(pattern, api.RequireKey(d.Auth, perm, fn))
	}
	// Honeycomb's permissions: a query spec is "Manage Queries and
	// Columns", running it "Run Queries", markers "Manage Markers".
	route("POST /1/queries/{dataset}", auth.PermColumns, h.createQuery)
	route("GET /1/queries/{dataset}/{id}", auth.PermColumns, h.getQuery)
	route("POST /1/query_results/{dataset}", auth.PermQueries, h.createResult)
	route("GET /1/query_results/{dataset}/{id}", auth.PermQueries, h.getResult)
	route("POST /1/bubbleup/{dataset}", auth.PermQueries, h.bubbleUp)
	route("POST /1/markers/{dataset}", auth.PermMarkers, h.createMarker)
	route("GET /1/markers/{dataset}", auth.PermMarkers, h.listMarkers)
	route("PUT /1/markers/{dataset}/{id}", auth.PermMarkers, h.updateMarker)
	route("DELETE /1/markers/{dataset}/{id}", auth.PermMarkers, h.deleteMarker)
	route("GET /1/marker_settings/{dataset}", auth.PermMarkers, h.listMarkerSettings)
	route("POST /1/marker_settings/{dataset}", auth.PermMarkers, h.createMarkerSetting)
	route("PUT /1/marker_settings/{dataset}/{id}", auth.PermMarkers, h.updateMarkerSetting)
	route("DELETE /1/marker_settings/{dataset}/{id}", auth.PermMarkers, h.deleteMarkerSetting)
	route("GET /1/derived_columns/{dataset}", auth.PermColumns, h.listDerived)
	route("POST /1/derived_columns/{dataset}", auth.PermColumns, h.createDerived)
	route("GET /1/derived_columns/{dataset}/{id}", auth.PermColumns, h.getDerived)
	route("PUT /1/derived_columns/{dataset}/{id}", auth.PermColumns, h.updateDerived)
	route("DELETE /1/derived_columns/{dataset}/{id}", auth.PermColumns, h.deleteDerived)
	route("POST /1/query_annotations/{dataset}", auth.PermColumns, h.createAnnotation)
	route("GET /1/query_annotations/{dataset}", auth.PermColumns, h.listAnnotations)
	route("GET /1/query_annotations/{dataset}/{id}", auth.PermColumns, h.getAnnotation)
	route("PUT /1/query_annotations/{dataset}/{id}", auth.PermColumns, h.updateAnnotation)
	route("DELETE /1/query_annotations/{dataset}/{id}", auth.PermColumns, h.deleteAnnotation)
	route("POST /1/recipients", auth.PermRecipients, h.createRecipient)
	route("GET /1/recipients", auth.PermRecipients, h.listRecipients)
	route("GET /1/recipients/{id}", auth.PermRecipients, h.getRecipient)
	route("PUT /1/recipients/{id}", auth.PermRecipients, h.updateRecipient)
	route("DELETE /1/recipients/{id}", auth.PermRecipients, h.deleteRecipient)
	route("POST /1/triggers/{dataset}", auth.PermTriggers, h.createTrigger)
	route("GET /1/triggers/{dataset}", auth.PermTriggers, h.listTriggers)
	route("GET /1/triggers/{dataset}/{id}", auth.PermTriggers, h.getTrigger)
	route("PUT /1/triggers/{dataset}/{id}", auth.PermTriggers, h.updateTrigger)
	route("DELETE /1/triggers/{dataset}/{id}", auth.PermTriggers, h.deleteTrigger)
	route("POST /1/slos/{dataset}", auth.PermSLOs, h.createSLO)
	route("GET /1/slos/{dataset}", auth.PermSLOs, h.listSLOs)
	route("GET /1/slos/{dataset}/{id}", auth.PermSLOs, h.getSLO)
	route("PUT /1/slos/{dataset}/{id}", auth.PermSLOs, h.updateSLO)
	route("DELETE /1/slos/{dataset}/{id}", auth.PermSLOs, h.deleteSLO)
	route("POST /1/burn_alerts/{dataset}", auth.PermSLOs, h.createBurnAlert)
	route("GET /1/burn_alerts/{dataset}", auth.PermSLOs, h.listBurnAlerts)
	route("GET /1/burn_alerts/{dataset}/{id}", auth.PermSLOs, h.getBurnAlert)
	route("PUT /1/burn_alerts/{dataset}/{id}", auth.PermSLOs, h.updateBurnAlert)
	route("DELETE /1/burn_alerts/{dataset}/{id}", auth.PermSLOs, h.deleteBurnAlert)
	route("POST /1/reporting/slos/historical", auth.PermSLOs, h.sloHistory)
	route("POST /1/boards", auth.PermBoards, h.createBoard)
	route("GET /1/boards", auth.PermBoards, h.listBoards)
	route("GET /1/boards/{boardId}", auth.PermBoards, h.getBoard)
	route("PUT /1/boards/{boardId}", auth.PermBoards, h.updateBoard)
	route("DELETE /1/boards/{boardId}", auth.PermBoards, h.deleteBoard)
	route("POST /1/boards/{boardId}/views", auth.PermBoards, h.createBoardView)
	route("GET /1/boards/{boardId}/views", auth.PermBoards, h.listBoardViews)
	route("GET /1/boards/{boardId}/views/{viewId}", auth.PermBoards, h.getBoardView)
	route("PUT /1/boards/{boardId}/views/{viewId}", auth.PermBoards, h.updateBoardView)
	route("DELETE /1/boards/{boardId}/views/{viewId}", auth.PermBoards, h.deleteBoardView)
	return nil
}

type handler struct {
	d Deps
}

// State kinds of queries and results: scoped to the environment, keyed by
// id. A result's id starts with its creation time (8 hex digits of Unix
// seconds), so keys sort oldest first.
const (
	kindQuery  state.Kind = "honeycomb.query"
	kindResult state.Kind = "honeycomb.query-result"
)

// storedResult is a result record: what GET answers, kept as it was
// computed.
type storedResult struct {
	QueryID string          `json:"query_id"`
	Dataset string          `json:"dataset"`
	Spec    json.RawMessage `json:"spec"`
	Data    json.RawMessage `json:"data"`
	At      time.Time       `json:"at"`
	// Doors is set when the query read another door's part than
	// Honeycomb's (resultRequest.Doors); the result says so.
	Doors []string `json:"doors,omitempty"`
}

func env(r *http.Request) string {
	p, _ := api.PrincipalFrom(r.Context())
	return p.Env
}

// datasets lists the datasets of environment e: the store's and those
// made with the Datasets API that have no events yet.
func (h *handler) datasets(ctx context.Context, e string) ([]store.Dataset, error) {
	all, err := api.Datasets(ctx, h.d.Store, h.d.State, e)
	if err != nil {
		return nil, err
	}
	list := make([]store.Dataset, 0, len(all))
	for _, d := range all {
		if !d.Found {
			var v struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(d.Record.Value, &v)
			d.Stored = store.Dataset{Name: v.Name, Slug: d.Record.Key}
		}
		list = append(list, d.Stored)
	}
	return list, nil
}

// checkDataset answers 404 when the dataset is neither __all__ nor a
// dataset of the environment.
func (h *handler) checkDataset(w http.ResponseWriter, r *http.Request) (string, bool) {
	ds := r.PathValue("dataset")
	if ds == query.AllDatasets {
		return ds, true
	}
	list, err := h.datasets(r.Context(), env(r))
	if err != nil {
		h.d.Logger.Error("listing datasets failed", "err", err)
		api.WriteError(w, http.StatusInternalServerError, "could not read datasets")
		return "", false
	}
	for _, d := range list {
		if d.Slug == ds || strings.EqualFold(d.Name, ds) {
			return d.Slug, true
		}
	}
	api.WriteError(w, http.StatusNotFound, "Dataset not found")
	return "", false
}

// writeSpecError sends a spec error as Honeycomb does: 400 {"error"} for
// an unreadable body, 422 problem+json naming the field otherwise.
func writeSpecError(w http.ResponseWriter, err error) {
	var e *query.Error
	if !errors.As(err, &e) {
		api.WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	if e.Status != http.StatusUnprocessableEntity {
		api.WriteError(w, e.Status, e.Error())
		return
	}
	writeProblem(w, e.Field, e.Code, e.Error())
}

func writeProblem(w http.ResponseWriter, field, code, msg string) {
	api.WriteError(w, http.StatusUnprocessableEntity, msg, api.ProblemItem{Field: field, Code: code, Description: msg})
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			api.WriteError(w, http.StatusRequestEntityTooLarge, "request body too large")
		} else {
			api.WriteError(w, http.StatusBadRequest, "could not read the request body")
		}
		return nil, false
	}
	return b, true
}

// queryID is a content address: equal specs in one environment share it.
func queryID(env string, s *query.Spec) string {
	sum := sha256.Sum256(append([]byte(env+"\x00"), s.MarshalCanonical()...))
	return base58(sum[:8])
}

const alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func base58(b []byte) string {
	n := new(big.Int).SetBytes(b)
	mod := new(big.Int)
	base := big.NewInt(58)
	var out []byte
	for n.Sign() > 0 {
		n.DivMod(n, base, mod)
		out = append(out, alphabet[mod.Int64()])
	}
	for len(out) < 11 {
		out = append(out, alphabet[0])
	}
	return string(out)
}

func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// specJSON is the spec as Honeycomb echoes it, with its id.
func specJSON(id string, s *query.Spec) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(s.MarshalCanonical(), &m)
	if m == nil {
		m = map[string]any{}
	}
	m["id"] = id
	return m
}

func (h *handler) createQuery(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.checkDataset(w, r); !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	spec, err := query.DecodeSpec(strings.NewReader(string(body)))
	if err == nil {
		err = spec.Validate()
	}
	if err != nil {
		writeSpecError(w, err)
		return
	}
	e := env(r)
	id := queryID(e, &spec)
	full := false
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if _, err := tx.Get(kindQuery, e, id); err == nil || !errors.Is(err, state.ErrNotFound) {
			return err // saved before (equal specs share an id), or a failure
		}
		n, err := tx.Count(kindQuery, e)
		if err != nil {
			return err
		}
		if full = n >= h.d.MaxQueries; full {
			return nil
		}
		_, err = tx.Put(state.Record{Kind: kindQuery, Scope: e, Key: id, Value: spec.MarshalCanonical()}, state.MustNotExist)
		return err
	})
	switch {
	case err != nil:
		h.stateFailed(w, "saving a query", err)
	case full:
		writeProblem(w, "query", "invalid", fmt.Sprintf("an environment holds at most %d queries", h.d.MaxQueries))
	default:
		api.WriteJSON(w, http.StatusOK, specJSON(id, &spec))
	}
}

// stateFailed answers a failed read or write of the state store.
func (h *handler) stateFailed(w http.ResponseWriter, what string, err error) {
	h.d.Logger.Error(what+" failed", "err", err)
	api.WriteError(w, http.StatusInternalServerError, what+" failed")
}

// loadQuery reads a saved query; ok is false when it answered already.
func (h *handler) loadQuery(w http.ResponseWriter, r *http.Request, id string) (query.Spec, bool) {
	rec, err := h.d.State.Get(r.Context(), kindQuery, env(r), id)
	if errors.Is(err, state.ErrNotFound) {
		api.WriteError(w, http.StatusNotFound, "Query not found")
		return query.Spec{}, false
	}
	if err != nil {
		h.stateFailed(w, "reading a query", err)
		return query.Spec{}, false
	}
	spec, err := query.DecodeSpec(bytes.NewReader(rec.Value))
	if err != nil {
		h.stateFailed(w, "reading a query", fmt.Errorf("stored query %s: %w", id, err))
		return query.Spec{}, false
	}
	return spec, true
}

func (h *handler) getQuery(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if spec, ok := h.loadQuery(w, r, id); ok {
		api.WriteJSON(w, http.StatusOK, specJSON(id, &spec))
	}
}

type resultRequest struct {
	QueryID       string `json:"query_id"`
	DisableSeries bool   `json:"disable_series"`
	Limit         *int   `json:"limit"`
	// Doors is tracecomb's own: ["xray"] runs the query over what was
	// sent to X-Ray's doors (the environment's X-Ray part) instead of
	// Honeycomb's. One door per result: the two parts are not merged.
	Doors []string `json:"doors"`
}

func (h *handler) createResult(w http.ResponseWriter, r *http.Request) {
	var req resultRequest
	if !decodeInput(w, r, &req, "request body") {
		return
	}
	doors, ok := parseDoors(w, req.Doors)
	if !ok {
		return
	}
	if len(doors) > 1 {
		writeProblem(w, "doors", "invalid", `doors: a query result reads one door's part: give "honeycomb" or "xray"`)
		return
	}
	ds, envs, ok := h.doorDatasets(w, r, env(r), doors)
	if !ok {
		return
	}
	if req.QueryID == "" {
		writeProblem(w, "query_id", "missing", "query_id: is required")
		return
	}
	limit := 0
	if req.Limit != nil {
		maxLimit := query.MaxLimit
		if req.DisableSeries {
			maxLimit = 10000
		}
		if *req.Limit < 1 || *req.Limit > maxLimit {
			writeProblem(w, "limit", "invalid", fmt.Sprintf("limit: must be between 1 and %d, got %d", maxLimit, *req.Limit))
			return
		}
		limit = *req.Limit
	}
	e := env(r)
	spec, ok := h.loadQuery(w, r, req.QueryID)
	if !ok {
		return
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
	ctx, cancel := context.WithTimeout(r.Context(), h.d.QueryTimeout)
	defer cancel()
	data, err := query.Run(ctx, h.d.Store, envs[0], plan, query.RunOptions{Dataset: ds, DisableSeries: req.DisableSeries, Limit: limit})
	if err != nil {
		h.runFailed(w, r, ctx, "query_id", err)
		return
	}
	now := h.d.Now()
	dataJSON, err := json.Marshal(data)
	if err != nil {
		h.stateFailed(w, "encoding a result", err)
		return
	}
	id := fmt.Sprintf("%08x", now.Unix()) + randomID(4)
	res := storedResult{QueryID: req.QueryID, Dataset: r.PathValue("dataset"), Spec: spec.MarshalCanonical(), Data: dataJSON, At: now.UTC()}
	if doors[0] != model.DoorHoneycomb {
		res.Doors = []string{doors[0].String()}
	}
	v, err := json.Marshal(res)
	if err != nil {
		h.stateFailed(w, "encoding a result", err)
		return
	}
	err = h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if err := h.pruneResults(tx, e, now); err != nil {
			return err
		}
		_, err = tx.Put(state.Record{Kind: kindResult, Scope: e, Key: id, Value: v}, state.MustNotExist)
		return err
	})
	if err != nil {
		h.stateFailed(w, "saving a result", err)
		return
	}
	w.Header().Set("Location", "/1/query_results/"+res.Dataset+"/"+id)
	api.WriteJSON(w, http.StatusCreated, h.resultJSON(id, res))
}

// pruneResults deletes, before a new result is saved, the results past
// their time and the oldest beyond the number kept. Result ids begin with
// their creation time, so the oldest come first: it reads only the first
// few keys, not all of them.
func (h *handler) pruneResults(tx state.Tx, e string, now time.Time) error {
	n, err := tx.Count(kindResult, e)
	if err != nil {
		return err
	}
	expired := fmt.Sprintf("%08x", now.Add(-h.d.ResultTTL).Unix())
	for {
		excess := n + 1 - h.d.MaxResults // to delete for the new one to fit
		batch := max(excess, 0) + 32
		old, err := tx.FirstKeys(kindResult, e, batch)
		if err != nil {
			return err
		}
		for i, k := range old {
			if k >= expired && i >= excess {
				return nil
			}
			if err := tx.Delete(kindResult, e, k, state.AnyVersion); err != nil {
				return err
			}
			n--
		}
		if len(old) < batch {
			return nil
		}
	}
}

func (h *handler) resultJSON(id string, res storedResult) map[string]any {
	link := strings.TrimRight(h.d.UIURL, "/") + "/query?dataset=" + res.Dataset + "&query=" + res.QueryID + "&result=" + id
	var spec map[string]any
	_ = json.Unmarshal(res.Spec, &spec)
	if spec == nil {
		spec = map[string]any{}
	}
	spec["id"] = res.QueryID
	out := map[string]any{
		"id":       id,
		"complete": true,
		"query":    spec,
		"data":     res.Data,
		"links": map[string]string{
			"query_url":       link,
			"graph_image_url": link + "&format=png",
		},
	}
	if len(res.Doors) > 0 {
		out["doors"] = res.Doors // tracecomb's own: whose data it read
	}
	return out
}

func (h *handler) getResult(w http.ResponseWriter, r *http.Request) {
	rec, err := h.d.State.Get(r.Context(), kindResult, env(r), r.PathValue("id"))
	if err != nil && !errors.Is(err, state.ErrNotFound) {
		h.stateFailed(w, "reading a result", err)
		return
	}
	var res storedResult
	if err == nil {
		if err := json.Unmarshal(rec.Value, &res); err != nil {
			h.stateFailed(w, "reading a result", fmt.Errorf("stored result %s: %w", rec.Key, err))
			return
		}
	}
	if err != nil || h.d.Now().Sub(res.At) > h.d.ResultTTL {
		api.WriteError(w, http.StatusNotFound, "Query result not found")
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Header().Set("Last-Modified", res.At.Format(http.TimeFormat))
	api.WriteJSON(w, http.StatusOK, h.resultJSON(rec.Key, res))
}

// runFailed answers a query run of a request that failed: nothing when
// the client went away, 504 past the time budget of ctx, 422 naming field
// when the store refused the query as too large, 503 naming what is
// missing when the store is unavailable, 500 otherwise.
func (h *handler) runFailed(w http.ResponseWriter, r *http.Request, ctx context.Context, field string, err error) {
	e, ds := env(r), r.PathValue("dataset")
	if r.Context().Err() != nil {
		return // the client went away; nobody reads an answer
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// Honeycomb documents no status for a query past its time
		// limit; 504 says the server gave up waiting, and the body
		// what to change. The store has stopped the statement.
		msg := fmt.Sprintf("the query ran past its time budget of %s (--query-timeout): narrow the time range, add filters, or group by fewer columns", h.d.QueryTimeout)
		h.d.Logger.Warn("query past its time budget", "env", e, "dataset", ds, "budget", h.d.QueryTimeout)
		api.WriteError(w, http.StatusGatewayTimeout, msg)
		return
	}
	if errors.Is(err, store.ErrUnavailable) {
		// A server or shard of the store is down: never a partial result.
		h.d.Logger.Warn("query while the store is unavailable", "err", err, "env", e, "dataset", ds)
		w.Header().Set("Retry-After", "5")
		api.WriteError(w, http.StatusServiceUnavailable, "the query cannot run now: "+err.Error())
		return
	}
	if errors.Is(err, store.ErrQueryTooLarge) {
		// The same query fails again; a narrower one may not.
		msg := "the query needs more memory than the store may use (--store-memory-limit): narrow the time range, add filters, or group by fewer columns"
		api.WriteError(w, http.StatusUnprocessableEntity, msg, api.ProblemItem{Field: field, Code: "too_large", Description: msg})
		return
	}
	h.d.Logger.Error("query failed", "err", err, "env", e, "dataset", ds)
	api.WriteError(w, http.StatusInternalServerError, "query failed")
}
