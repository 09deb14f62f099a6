package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
)

var buT0 = time.Date(2026, 2, 3, 4, 0, 0, 0, time.UTC)

// seedShop writes 200 spans of dataset "shop" 3 s apart into env:
// customer cust-0…cust-9 by i%10, 10 ms each, 100 ms for customer slow.
func seedShop(t testing.TB, st store.Writer, env, slow string, src model.Source) {
	t.Helper()
	var evs []model.Event
	for i := range 200 {
		cust := fmt.Sprintf("cust-%d", i%10)
		d := 10.0
		if cust == slow {
			d = 100
		}
		e := model.Event{Dataset: "shop", ServiceName: "shop", Name: "GET /cart", Time: buT0.Add(time.Duration(i) * 3 * time.Second),
			DurationMs: d, SampleRate: 1, Source: src, Attrs: []model.Attr{{Key: "customer", Value: model.Str(cust)}}}
		e.TraceID[0], e.SpanID[0], e.SpanID[1] = byte(i), byte(i), 1
		evs = append(evs, e)
	}
	if err := st.Write(context.Background(), []store.Batch{{Env: env, Events: evs}}); err != nil {
		t.Fatal(err)
	}
}

type buAnswer struct {
	Selection float64 `json:"selection_count"`
	Baseline  float64 `json:"baseline_count"`
	Columns   []struct {
		Column string  `json:"column"`
		Type   string  `json:"type"`
		Score  float64 `json:"score"`
		Values []struct {
			Value          any     `json:"value"`
			Selection      float64 `json:"selection"`
			Baseline       float64 `json:"baseline"`
			SelectionCount float64 `json:"selection_count"`
		} `json:"values"`
	} `json:"columns"`
}

func TestBubbleUpAPI(t *testing.T) {
	srv := startServer(t)
	seedShop(t, srv.store, "test", "cust-4", model.SourceOTLP)
	seedShop(t, srv.store, store.DoorEnv("test", model.DoorXRay), "cust-7", model.SourceXRay)
	start, end := buT0.Unix(), buT0.Add(10*time.Minute).Unix()
	spec := map[string]any{"calculations": []any{map[string]any{"op": "HEATMAP", "column": "duration_ms"}}, "start_time": start, "end_time": end}
	slow := map[string]any{"column": "duration_ms", "min": 50}
	run := func(body map[string]any) buAnswer {
		t.Helper()
		code, _, out := do(t, "POST", srv.url+"/1/bubbleup/shop", body)
		if code != 200 {
			t.Fatalf("%v: %d %s", body, code, out)
		}
		var a buAnswer
		if err := json.Unmarshal(out, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	first := func(a buAnswer) (string, any, float64) {
		t.Helper()
		if len(a.Columns) == 0 || len(a.Columns[0].Values) == 0 {
			t.Fatalf("no columns: %+v", a)
		}
		c := a.Columns[0]
		return c.Column, c.Values[0].Value, c.Values[0].Selection
	}

	// Honeycomb's doors (the default): cust-4 is slow.
	a := run(map[string]any{"query": spec, "selection": slow})
	if col, v, share := first(a); a.Selection != 20 || a.Baseline != 180 || col != "customer" || v != "cust-4" || share != 1 {
		t.Errorf("honeycomb: %v %v, first %s %v %v", a.Selection, a.Baseline, col, v, share)
	}
	// A saved query, the X-Ray part: cust-7.
	code, _, qb := do(t, "POST", srv.url+"/1/queries/shop", spec)
	if code != 200 {
		t.Fatalf("create query: %d %s", code, qb)
	}
	var q struct{ ID string }
	_ = json.Unmarshal(qb, &q)
	a = run(map[string]any{"query_id": q.ID, "selection": slow, "doors": []string{"xray"}})
	if col, v, share := first(a); a.Selection != 20 || col != "customer" || v != "cust-7" || share != 1 {
		t.Errorf("xray: %v, first %s %v %v", a.Selection, col, v, share)
	}
	// Both parts, first half of the time range only: 10 slow spans of
	// each door's customer; baseline: the other 380 of the 400.
	half := map[string]any{"column": "duration_ms", "min": 50, "start_time": start, "end_time": start + 300}
	a = run(map[string]any{"query": spec, "selection": half, "doors": []string{"honeycomb", "xray"}})
	if a.Selection != 20 || a.Baseline != 380 || a.Columns[0].Column != "customer" || a.Columns[0].Values[0].Selection != 0.5 {
		t.Errorf("both doors: %+v", a)
	}
	// A group row: customer = cust-4 makes duration_ms the difference.
	a = run(map[string]any{"query": spec, "selection": map[string]any{"group": []any{map[string]any{"column": "customer", "value": "cust-4"}}}})
	if a.Selection != 20 || a.Columns[0].Column != "duration_ms" || a.Columns[0].Type != "numeric" || a.Columns[0].Score != 1 {
		t.Errorf("group: %+v", a)
	}
}

func TestBubbleUpAPIErrors(t *testing.T) {
	srv := startServer(t)
	seedShop(t, srv.store, "test", "cust-4", model.SourceOTLP)
	spec := map[string]any{"start_time": buT0.Unix(), "end_time": buT0.Add(10 * time.Minute).Unix()}
	slow := map[string]any{"column": "duration_ms", "min": 50}
	for _, tc := range []struct {
		path  string
		body  any
		code  int
		field string
	}{
		{"/1/bubbleup/shop", `{"query":`, 400, ""},
		{"/1/bubbleup/shop", map[string]any{"selection": slow}, 422, "query_id"},
		{"/1/bubbleup/shop", map[string]any{"query_id": "nope", "selection": slow}, 404, ""},
		{"/1/bubbleup/shop", map[string]any{"query_id": "x", "query": spec, "selection": slow}, 422, "query"},
		{"/1/bubbleup/shop", map[string]any{"query": map[string]any{"limit": 0}, "selection": slow}, 422, "limit"},
		{"/1/bubbleup/shop", map[string]any{"query": spec}, 422, "selection"},
		{"/1/bubbleup/shop", map[string]any{"query": spec, "selection": map[string]any{"column": "duration_ms", "min": 5, "max": 1}}, 422, "selection.max"},
		{"/1/bubbleup/shop", map[string]any{"query": spec, "selection": map[string]any{"column": "duration_ms", "min": 1e6}}, 422, "selection"},
		{"/1/bubbleup/shop", map[string]any{"query": spec, "selection": map[string]any{"start_time": -5}}, 422, "selection.start_time"},
		{"/1/bubbleup/shop", map[string]any{"query": spec, "selection": map[string]any{"min": "x"}}, 422, "selection.min"},
		{"/1/bubbleup/shop", map[string]any{"query": spec, "selection": slow, "doors": []string{"jaeger"}}, 422, "doors[0]"},
		{"/1/bubbleup/shop", map[string]any{"query": spec, "selection": slow, "max_values": 1000}, 422, "max_values"},
		{"/1/bubbleup/nope", map[string]any{"query": spec, "selection": slow}, 404, ""},
		{"/1/bubbleup/shop", map[string]any{"query": spec, "selection": slow, "doors": []string{"xray"}}, 404, ""}, // no X-Ray data
	} {
		code, _, out := do(t, "POST", srv.url+tc.path, tc.body)
		if code != tc.code {
			t.Errorf("%v: %d %s, want %d", tc.body, code, out, tc.code)
			continue
		}
		if tc.field == "" {
			continue
		}
		var p struct {
			TypeDetail []struct {
				Field string `json:"field"`
			} `json:"type_detail"`
		}
		if err := json.Unmarshal(out, &p); err != nil || len(p.TypeDetail) == 0 || p.TypeDetail[0].Field != tc.field {
			t.Errorf("%v: %s, want a problem naming %s", tc.body, out, tc.field)
		}
	}
}

// TestBubbleUpWireGolden pins the JSON of a BubbleUp answer.
func TestBubbleUpWireGolden(t *testing.T) {
	srv := startServer(t)
	seedShop(t, srv.store, "test", "cust-4", model.SourceOTLP)
	body := map[string]any{"query": map[string]any{"start_time": buT0.Unix(), "end_time": buT0.Add(10 * time.Minute).Unix()},
		"selection": map[string]any{"column": "duration_ms", "min": 50}, "max_values": 3}
	code, _, out := do(t, "POST", srv.url+"/1/bubbleup/shop", body)
	if code != 200 {
		t.Fatalf("%d %s", code, out)
	}
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	checkGolden(t, "bubbleup.json", append(pretty, '\n'))
}

// FuzzBubbleUpRequest sends arbitrary bodies to POST /1/bubbleup: every
// answer is a 200 or a client error with a JSON body, never a 5xx.
func FuzzBubbleUpRequest(f *testing.F) {
	srv := startServer(f)
	seedShop(f, srv.store, "test", "cust-4", model.SourceOTLP)
	start := buT0.Unix()
	for _, s := range []string{
		fmt.Sprintf(`{"query":{"start_time":%d,"end_time":%d},"selection":{"column":"duration_ms","min":50}}`, start, start+600),
		fmt.Sprintf(`{"query":{"start_time":%d,"end_time":%d},"selection":{"start_time":%d.5,"end_time":%d,"column":"duration_ms","min":5,"max":1e3}}`, start, start+600, start, start+300),
		fmt.Sprintf(`{"query":{"start_time":%d,"end_time":%d},"selection":{"group":[{"column":"customer","value":null}]},"doors":["xray","honeycomb"]}`, start, start+600),
		`{"query_id":"x","selection":{"min":"1"}}`,
		`{"query":{"time_range":-1},"selection":{"column":"","max":1},"max_values":-3}`,
		`[]`, `{"selection":{"group":[{"value":[1]}]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		code, _, out := do(t, "POST", srv.url+"/1/bubbleup/shop", body)
		if code != 200 && code != 400 && code != 404 && code != 422 {
			t.Fatalf("%s: %d %s", body, code, out)
		}
		if !json.Valid(out) {
			t.Fatalf("%s: %d, body not JSON: %s", body, code, out)
		}
	})
}
