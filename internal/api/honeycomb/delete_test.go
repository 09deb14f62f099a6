package honeycomb

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/state"
	"github.com/tracecomb/tracecomb/internal/store/duckdb"
)

// deleteServer serves the Honeycomb API of this package and of
// internal/api/query (triggers, SLOs, boards, …) over one state store and
// one DuckDB store, with an auth.Registry as authenticator and tenancy.
type deleteServer struct {
	t    *testing.T
	url  string
	st   state.Store
	reg  *auth.Registry
	mgmt string
	// recipients has each environment's webhook recipient, by key.
	recipients map[string]string
}

func newDeleteServer(t *testing.T) *deleteServer {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := state.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	db, err := duckdb.Open(ctx, duckdb.Config{Path: filepath.Join(dir, "tc.duckdb"), Threads: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	reg, err := auth.New(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if _, err := reg.Bootstrap(""); err != nil {
		t.Fatal(err)
	}
	_, mgmt, err := reg.CreateKey(auth.KeySpec{Kind: auth.KindManagement})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	Register(mux, Deps{Auth: reg, Store: db, State: st})
	if err := apiquery.Register(mux, apiquery.Deps{Auth: reg, Store: db, State: st}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &deleteServer{t: t, url: srv.URL, st: st, reg: reg, mgmt: mgmt, recipients: map[string]string{}}
}

// env creates an environment and returns a configuration key of it with
// every permission.
func (s *deleteServer) env(name string) string {
	s.t.Helper()
	e, err := s.reg.CreateEnvironment(auth.EnvSpec{Name: name})
	if err != nil {
		s.t.Fatal(err)
	}
	_, key, err := s.reg.CreateKey(auth.KeySpec{Env: e.Slug, Kind: auth.KindConfiguration})
	if err != nil {
		s.t.Fatal(err)
	}
	return key
}

// do sends a request with key (a management key as Bearer, another as
// X-Honeycomb-Team) and returns the status and the decoded answer.
func (s *deleteServer) do(key, method, path string, body any) (int, map[string]any, string) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	if key == s.mgmt {
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", jsonAPIType)
	} else {
		req.Header.Set("X-Honeycomb-Team", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, string(raw)
}

// create sends a request that must answer 200 or 201 and returns the
// answer's id.
func (s *deleteServer) create(key, method, path string, body any) string {
	s.t.Helper()
	code, m, raw := s.do(key, method, path, body)
	if code != 200 && code != 201 {
		s.t.Fatalf("%s %s: %d %s", method, path, code, raw)
	}
	id, _ := m["id"].(string)
	return id
}

// ids are the objects a fixture made, as "<kind> <key>" of the state
// record each is, by a name of the test's.
type ids map[string]string

// dataset makes dataset ds (delete protection off) in the environment of
// key, with two columns, a definition, a derived column, a trigger (and
// its evaluation state), an SLO with a burn alert (and its state), a
// marker, a marker setting and a query annotation.
func (s *deleteServer) dataset(key, ds string) ids {
	s.t.Helper()
	ctx := context.Background()
	env := s.envOf(key)
	s.create(key, "POST", "/1/datasets", map[string]any{"name": ds})
	s.create(key, "PUT", "/1/datasets/"+ds, map[string]any{"settings": map[string]any{"delete_protected": false}})
	s.create(key, "POST", "/1/columns/"+ds, map[string]any{"key_name": "duration_ms", "type": "float"})
	s.create(key, "POST", "/1/columns/"+ds, map[string]any{"key_name": "error", "type": "boolean"})
	s.create(key, "PATCH", "/1/dataset_definitions/"+ds, map[string]any{"duration_ms": map[string]any{"name": "duration_ms"}})
	out := ids{
		"dataset":     "honeycomb.dataset " + ds,
		"definitions": "honeycomb.dataset-definitions " + ds,
		"column 1":    "honeycomb.column " + ds + "/duration_ms",
		"column 2":    "honeycomb.column " + ds + "/error",
	}
	out["derived"] = "honeycomb.derived-column " + ds + "/" +
		s.create(key, "POST", "/1/derived_columns/"+ds, map[string]any{"alias": "fast", "expression": `LT($duration_ms, 300)`})
	trigger := s.create(key, "POST", "/1/triggers/"+ds, map[string]any{"name": "errors",
		"query":     map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "filters": []any{map[string]any{"column": "error", "op": "=", "value": true}}, "time_range": 240},
		"threshold": map[string]any{"op": ">", "value": 10}, "frequency": 60})
	out["trigger"] = "honeycomb.trigger " + ds + "/" + trigger
	slo := s.create(key, "POST", "/1/slos/"+ds, map[string]any{"name": "fast", "sli": map[string]any{"alias": "fast"}, "target_per_million": 995000, "time_period_days": 7})
	out["slo"] = "honeycomb.slo " + ds + "/" + slo
	alert := s.create(key, "POST", "/1/burn_alerts/"+ds, map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 120, "slo": map[string]any{"id": slo}, "recipients": s.to(key)})
	out["burn alert"] = "honeycomb.burn-alert " + slo + "/" + alert
	out["marker"] = "honeycomb.marker " + ds + "/" + s.create(key, "POST", "/1/markers/"+ds, map[string]any{"message": "v1", "type": "deploy"})
	out["marker setting"] = "honeycomb.marker-setting " + ds + "/" + s.create(key, "POST", "/1/marker_settings/"+ds, map[string]any{"type": "deploy", "color": "#F96E11"})
	q := s.create(key, "POST", "/1/queries/"+ds, map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "time_range": 600})
	out["query annotation"] = "honeycomb.query-annotation " + ds + "/" + s.create(key, "POST", "/1/query_annotations/"+ds, map[string]any{"name": "all", "query_id": q})
	// The evaluation state internal/alerting keeps, keyed as the trigger
	// and the burn alert.
	for name, k := range map[string]state.Kind{"trigger": apiquery.TriggerStateKind, "burn alert": apiquery.BurnAlertStateKind} {
		key := strings.SplitN(out[name], " ", 2)[1]
		if _, err := s.st.Put(ctx, state.Record{Kind: k, Scope: env, Key: key, Value: []byte(`{"triggered":true}`)}, state.MustNotExist); err != nil {
			s.t.Fatal(err)
		}
		out[name+" state"] = string(k) + " " + key
	}
	return out
}

// to is the recipients of an alert of key's environment: its webhook
// recipient, made on first use.
func (s *deleteServer) to(key string) []any {
	s.t.Helper()
	if s.recipients[key] == "" {
		s.recipients[key] = s.create(key, "POST", "/1/recipients", map[string]any{"type": "webhook",
			"details": map[string]any{"webhook_name": "oncall", "webhook_url": "https://example.com/hook"}})
	}
	return []any{map[string]any{"id": s.recipients[key]}}
}

// envOf returns the environment slug of key.
func (s *deleteServer) envOf(key string) string {
	s.t.Helper()
	code, m, raw := s.do(key, "GET", "/1/auth", nil)
	if code != 200 {
		s.t.Fatalf("/1/auth: %d %s", code, raw)
	}
	return m["environment"].(map[string]any)["slug"].(string)
}

// sloDatasets returns an SLO's dataset_slugs as the API answers them.
func (s *deleteServer) sloDatasets(key, path string) []string {
	s.t.Helper()
	code, m, raw := s.do(key, "GET", path, nil)
	if code != 200 {
		s.t.Fatalf("GET %s: %d %s", path, code, raw)
	}
	var out []string
	for _, d := range m["dataset_slugs"].([]any) {
		out = append(out, d.(string))
	}
	return out
}

// recordKinds are every kind an environment's scope may hold.
var recordKinds = []state.Kind{
	"honeycomb.dataset", "honeycomb.dataset-definitions", "honeycomb.column", "honeycomb.derived-column",
	"honeycomb.trigger", "honeycomb.trigger-state", "honeycomb.slo", "honeycomb.burn-alert", "honeycomb.burn-alert-state",
	"honeycomb.marker", "honeycomb.marker-setting", "honeycomb.query-annotation", "honeycomb.query", "honeycomb.query-result",
	"honeycomb.recipient", "honeycomb.board", "honeycomb.board-view", "auth.key", "auth.aws-key",
	"xray.config", "xray.sampling-client", "xray.sampling-window",
}

// records returns the state records of scope as "<kind> <key>" -> value.
func (s *deleteServer) records(scope string) map[string]string {
	s.t.Helper()
	out := map[string]string{}
	for _, k := range recordKinds {
		rs, err := s.st.List(context.Background(), k, scope)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, r := range rs {
			out[string(k)+" "+r.Key] = string(r.Value)
		}
	}
	return out
}

// TestDeleteDatasetDeletesItsObjects: deleting a dataset deletes what is
// kept under it (settings, columns, definitions, derived columns,
// triggers, SLOs, burn alerts, their evaluation state, markers, marker
// settings, query annotations); a multi-dataset SLO loses the dataset, or
// goes with its burn alerts when it was the only one. Another dataset's
// and another environment's objects, and the environment's own, stay.
func TestDeleteDatasetDeletesItsObjects(t *testing.T) {
	s := newDeleteServer(t)
	test, prod := s.env("Test2"), s.env("Prod")
	shop := s.dataset(test, "shop")
	s.dataset(test, "cart")
	s.dataset(prod, "shop")
	s.create(test, "POST", "/1/derived_columns/__all__", map[string]any{"alias": "ok", "expression": `LT($duration_ms, 1000)`})
	both := s.create(test, "POST", "/1/slos/__all__", map[string]any{"name": "both", "sli": map[string]any{"alias": "ok"},
		"target_per_million": 990000, "time_period_days": 7, "dataset_slugs": []string{"shop", "cart"}})
	bothAlert := s.create(test, "POST", "/1/burn_alerts/__all__", map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 60, "slo": map[string]any{"id": both}, "recipients": s.to(test)})
	only := s.create(test, "POST", "/1/slos/__all__", map[string]any{"name": "only shop", "sli": map[string]any{"alias": "ok"},
		"target_per_million": 990000, "time_period_days": 7, "dataset_slugs": []string{"shop"}})
	onlyAlert := s.create(test, "POST", "/1/burn_alerts/__all__", map[string]any{"alert_type": "exhaustion_time", "exhaustion_minutes": 60, "slo": map[string]any{"id": only}, "recipients": s.to(test)})

	testEnv, prodEnv := s.envOf(test), s.envOf(prod)
	beforeTest, beforeProd := s.records(testEnv), s.records(prodEnv)
	gone := slices.Collect(maps.Values(shop))
	gone = append(gone, "honeycomb.slo __all__/"+only, "honeycomb.burn-alert "+only+"/"+onlyAlert)
	for _, g := range gone {
		if _, ok := beforeTest[g]; !ok {
			t.Fatalf("the fixture did not make %q; it made %v", g, slices.Sorted(maps.Keys(beforeTest)))
		}
	}

	if code, _, raw := s.do(test, "DELETE", "/1/datasets/shop", nil); code != http.StatusAccepted {
		t.Fatalf("delete the dataset: %d %s", code, raw)
	}

	afterTest := s.records(testEnv)
	want := maps.Clone(beforeTest)
	for _, g := range gone {
		delete(want, g)
	}
	changed := "honeycomb.slo __all__/" + both
	delete(want, changed)
	got := maps.Clone(afterTest)
	delete(got, changed)
	if !maps.Equal(got, want) {
		t.Errorf("the environment's records after deleting the dataset:\n%v\nwant\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if got := s.records(prodEnv); !maps.Equal(got, beforeProd) {
		t.Errorf("another environment's records changed:\n%v\nwant\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(beforeProd)))
	}
	if got := s.sloDatasets(test, "/1/slos/__all__/"+both); !slices.Equal(got, []string{"cart"}) {
		t.Errorf("the SLO of both datasets now has datasets %v, want [cart]", got)
	}
	if code, _, raw := s.do(test, "GET", "/1/burn_alerts/__all__/"+bothAlert, nil); code != 200 {
		t.Errorf("the burn alert of the SLO of both datasets: %d %s", code, raw)
	}

	// A new dataset of the same name starts empty.
	s.create(test, "POST", "/1/datasets", map[string]any{"name": "shop"})
	for _, tc := range []struct {
		path string
		want int // the number of objects listed
	}{
		{"/1/triggers/shop", 0},
		{"/1/slos/shop", 0},
		{"/1/derived_columns/shop", 0},
		{"/1/markers/shop", 0},
		{"/1/marker_settings/shop", 0},
		{"/1/query_annotations/shop", 0},
		{"/1/columns/shop", 0},
		{"/1/slos/__all__", 2}, // cart's and the one of both datasets
		{"/1/triggers/cart", 1},
		{"/1/slos/cart", 2},
		{"/1/markers/cart", 1},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/1/"), func(t *testing.T) {
			code, _, raw := s.do(test, "GET", tc.path, nil)
			var list []any
			if err := json.Unmarshal([]byte(raw), &list); code != 200 || err != nil || len(list) != tc.want {
				t.Errorf("GET %s: %d %s, want %d objects", tc.path, code, raw, tc.want)
			}
		})
	}
}

// TestDeleteEnvironmentDeletesItsState: deleting an environment over /2
// deletes every state record of both its doors' scopes (its datasets'
// objects and its environment-wide ones: recipients, boards, queries,
// X-Ray configuration, keys); another environment's stay, and a new
// environment of the same name starts empty.
func TestDeleteEnvironmentDeletesItsState(t *testing.T) {
	s := newDeleteServer(t)
	ctx := context.Background()
	staging, prod := s.env("Staging"), s.env("Prod")
	for _, key := range []string{staging, prod} {
		s.dataset(key, "shop")
		q := s.create(key, "POST", "/1/queries/__all__", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "time_range": 600})
		a := s.create(key, "POST", "/1/query_annotations/__all__", map[string]any{"name": "all", "query_id": q})
		board := s.create(key, "POST", "/1/boards", map[string]any{"name": "health", "type": "flexible",
			"panels": []any{map[string]any{"type": "query", "query_panel": map[string]any{"query_id": q, "query_annotation_id": a}}}})
		s.create(key, "POST", "/1/boards/"+board+"/views", map[string]any{"name": "errors", "filters": []any{map[string]any{"column": "error", "operation": "exists"}}})
		s.create(key, "POST", "/1/query_results/__all__", map[string]any{"query_id": q})
	}
	// What the X-Ray door and sampling keep in the environment's scopes.
	for _, r := range []state.Record{
		{Kind: "xray.config", Scope: "staging", Key: "config"},
		{Kind: "xray.sampling-window", Scope: "staging/xray", Key: "rule/1"},
		{Kind: "xray.config", Scope: "prod", Key: "config"},
	} {
		r.Value = []byte(`{}`)
		if _, err := s.st.Put(ctx, r, state.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
	before := s.records("staging")
	for _, kind := range recordKinds {
		if kind == "auth.aws-key" || kind == "xray.sampling-client" || kind == "xray.sampling-window" {
			continue
		}
		if !slices.ContainsFunc(slices.Collect(maps.Keys(before)), func(k string) bool { return strings.HasPrefix(k, string(kind)+" ") }) {
			t.Fatalf("the fixture made no %s record: %v", kind, slices.Sorted(maps.Keys(before)))
		}
	}
	beforeProd := s.records("prod")

	if code, _, raw := s.do(s.mgmt, "DELETE", "/2/teams/tracecomb/environments/staging", nil); code != http.StatusConflict {
		t.Fatalf("delete a protected environment: %d %s", code, raw)
	}
	if got := s.records("staging"); !maps.Equal(got, before) {
		t.Fatalf("refusing to delete changed the environment's records:\n%v", slices.Sorted(maps.Keys(got)))
	}
	s.create(s.mgmt, "PATCH", "/2/teams/tracecomb/environments/staging",
		map[string]any{"data": map[string]any{"id": "staging", "type": "environments", "attributes": map[string]any{"settings": map[string]any{"delete_protected": false}}}})
	if code, _, raw := s.do(s.mgmt, "DELETE", "/2/teams/tracecomb/environments/staging", nil); code != http.StatusNoContent {
		t.Fatalf("delete the environment: %d %s", code, raw)
	}
	for _, scope := range []string{"staging", "staging/xray"} {
		if got := s.records(scope); len(got) != 0 {
			t.Errorf("scope %q keeps %v", scope, slices.Sorted(maps.Keys(got)))
		}
	}
	if got := s.records("prod"); !maps.Equal(got, beforeProd) {
		t.Errorf("another environment's records changed:\n%v\nwant\n%v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(beforeProd)))
	}
	if code, _, raw := s.do(staging, "GET", "/1/auth", nil); code != http.StatusUnauthorized {
		t.Errorf("a key of the deleted environment: %d %s", code, raw)
	}

	// A new environment of the same name starts empty.
	staging = s.env("Staging")
	for _, path := range []string{"/1/datasets", "/1/recipients", "/1/boards", "/1/derived_columns/__all__", "/1/slos/__all__", "/1/markers/__all__"} {
		t.Run(strings.TrimPrefix(path, "/1/"), func(t *testing.T) {
			code, _, raw := s.do(staging, "GET", path, nil)
			var list []any
			if err := json.Unmarshal([]byte(raw), &list); code != 200 || err != nil || len(list) != 0 {
				t.Errorf("GET %s in the new environment: %d %s, want an empty list", path, code, raw)
			}
		})
	}
	if code, _, raw := s.do(prod, "GET", "/1/triggers/shop", nil); code != 200 || strings.Count(raw, `"id"`) != 1 {
		t.Errorf("the other environment's triggers: %d %s", code, raw)
	}
}
