// Package query serves Honeycomb's Query Data API and Markers API:
//
//	POST /1/queries/{dataset}             create a query (validated, not run) → 200 spec + id
//	GET  /1/queries/{dataset}/{id}        read it back
//	POST /1/query_results/{dataset}       run a query → 201 + Location
//	GET  /1/query_results/{dataset}/{id}  the result: complete, data.results, data.series, links
//	POST|GET /1/markers/{dataset}, PUT|DELETE /1/markers/{dataset}/{id}
//
// {dataset} "__all__" means the whole environment. Every request is scoped
// to the environment of its key.
//
// Queries are content-addressed (equal specs get equal ids) and kept in
// memory in a bounded LRU per process, as are results: a restart forgets
// them, and a client that polls a forgotten result gets 404 and creates it
// again. Queries run synchronously while the result is created (bounded by
// Deps.QueryTimeout), so a created result is already complete. Markers live
// in the state store (Deps.State), one record each, and survive restarts.
// Honeycomb's per-minute rate limit on query results is not applied.
package query

import (
	"container/list"
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
	"sync"
	"time"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/query"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store"
)

// Store is what the handlers need of the store.
type Store interface {
	store.Aggregator
	Datasets(ctx context.Context, env string) ([]store.Dataset, error)
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
	// QueryTimeout bounds one query run; default 10 s (Honeycomb's cap).
	QueryTimeout time.Duration
	// MaxQueries and MaxResults bound the in-memory LRUs; defaults 10000
	// and 1000.
	MaxQueries, MaxResults int
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
	if d.MaxMarkers <= 0 {
		d.MaxMarkers = defaultMaxMarkers
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	h := &handler{d: d, queries: newLRU[savedQuery](d.MaxQueries), results: newLRU[*savedResult](d.MaxResults)}
	route := func(pattern string, perm auth.Permission, fn http.HandlerFunc) {
		mux.Handle(pattern, api.RequireKey(d.Auth, perm, fn))
	}
	// Honeycomb's permissions: a query spec is "Manage Queries and
	// Columns", running it "Run Queries", markers "Manage Markers".
	route("POST /1/queries/{dataset}", auth.PermColumns, h.createQuery)
	route("GET /1/queries/{dataset}/{id}", auth.PermColumns, h.getQuery)
	route("POST /1/query_results/{dataset}", auth.PermQueries, h.createResult)
	route("GET /1/query_results/{dataset}/{id}", auth.PermQueries, h.getResult)
	route("POST /1/markers/{dataset}", auth.PermMarkers, h.createMarker)
	route("GET /1/markers/{dataset}", auth.PermMarkers, h.listMarkers)
	route("PUT /1/markers/{dataset}/{id}", auth.PermMarkers, h.updateMarker)
	route("DELETE /1/markers/{dataset}/{id}", auth.PermMarkers, h.deleteMarker)
	return nil
}

type handler struct {
	d       Deps
	queries *lru[savedQuery]
	results *lru[*savedResult]
}

type savedQuery struct {
	id   string
	spec query.Spec
}

type savedResult struct {
	id       string
	queryID  string
	dataset  string
	spec     query.Spec
	data     query.Data
	complete bool
	at       time.Time
}

func env(r *http.Request) string {
	p, _ := api.PrincipalFrom(r.Context())
	return p.Env
}

// checkDataset answers 404 when the dataset is neither __all__ nor a
// dataset of the environment.
func (h *handler) checkDataset(w http.ResponseWriter, r *http.Request) (string, bool) {
	ds := r.PathValue("dataset")
	if ds == query.AllDatasets {
		return ds, true
	}
	list, err := h.d.Store.Datasets(r.Context(), env(r))
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
	h.queries.put(e+"/"+id, savedQuery{id: id, spec: spec})
	api.WriteJSON(w, http.StatusOK, specJSON(id, &spec))
}

func (h *handler) getQuery(w http.ResponseWriter, r *http.Request) {
	q, ok := h.queries.get(env(r) + "/" + r.PathValue("id"))
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Query not found")
		return
	}
	api.WriteJSON(w, http.StatusOK, specJSON(q.id, &q.spec))
}

type resultRequest struct {
	QueryID       string `json:"query_id"`
	DisableSeries bool   `json:"disable_series"`
	Limit         *int   `json:"limit"`
}

func (h *handler) createResult(w http.ResponseWriter, r *http.Request) {
	ds, ok := h.checkDataset(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	var req resultRequest
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			writeProblem(w, te.Field, "incorrect_type", fmt.Sprintf("%s: has the wrong type", te.Field))
			return
		}
		api.WriteError(w, http.StatusBadRequest, "could not parse the request body: "+err.Error())
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
	q, ok := h.queries.get(e + "/" + req.QueryID)
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Query not found")
		return
	}
	plan, err := q.spec.Plan(h.d.Now())
	if err != nil {
		writeSpecError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.d.QueryTimeout)
	defer cancel()
	data, err := query.Run(ctx, h.d.Store, e, plan, query.RunOptions{Dataset: ds, DisableSeries: req.DisableSeries, Limit: limit})
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			api.WriteError(w, http.StatusGatewayTimeout, "query timed out")
			return
		}
		h.d.Logger.Error("query failed", "err", err, "env", e, "dataset", ds)
		api.WriteError(w, http.StatusInternalServerError, "query failed")
		return
	}
	res := &savedResult{id: randomID(8), queryID: q.id, dataset: r.PathValue("dataset"), spec: q.spec, data: data, complete: true, at: h.d.Now()}
	h.results.put(e+"/"+res.id, res)
	w.Header().Set("Location", "/1/query_results/"+res.dataset+"/"+res.id)
	api.WriteJSON(w, http.StatusCreated, h.resultJSON(res))
}

func (h *handler) resultJSON(res *savedResult) map[string]any {
	link := strings.TrimRight(h.d.UIURL, "/") + "/query?dataset=" + res.dataset + "&query=" + res.queryID + "&result=" + res.id
	return map[string]any{
		"id":       res.id,
		"complete": res.complete,
		"query":    specJSON(res.queryID, &res.spec),
		"data":     res.data,
		"links": map[string]string{
			"query_url":       link,
			"graph_image_url": link + "&format=png",
		},
	}
}

func (h *handler) getResult(w http.ResponseWriter, r *http.Request) {
	res, ok := h.results.get(env(r) + "/" + r.PathValue("id"))
	if !ok {
		api.WriteError(w, http.StatusNotFound, "Query result not found")
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=86400")
	w.Header().Set("Last-Modified", res.at.UTC().Format(http.TimeFormat))
	api.WriteJSON(w, http.StatusOK, h.resultJSON(res))
}

// lru is a small mutex-guarded LRU map.
type lru[V any] struct {
	mu    sync.Mutex
	max   int
	order *list.List // front = most recently used; values are *lruItem
	items map[string]*list.Element
}

type lruItem[V any] struct {
	k string
	v V
}

func newLRU[V any](max int) *lru[V] {
	return &lru[V]{max: max, order: list.New(), items: map[string]*list.Element{}}
}

func (l *lru[V]) get(k string) (V, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.items[k]
	if !ok {
		var zero V
		return zero, false
	}
	l.order.MoveToFront(el)
	return el.Value.(*lruItem[V]).v, true
}

func (l *lru[V]) put(k string, v V) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.items[k]; ok {
		el.Value.(*lruItem[V]).v = v
		l.order.MoveToFront(el)
		return
	}
	l.items[k] = l.order.PushFront(&lruItem[V]{k: k, v: v})
	for l.order.Len() > l.max {
		el := l.order.Back()
		l.order.Remove(el)
		delete(l.items, el.Value.(*lruItem[V]).k)
	}
}
