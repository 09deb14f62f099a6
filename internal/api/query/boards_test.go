package query_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	apiquery "github.com/tracecomb/tracecomb/internal/api/query"
	"github.com/tracecomb/tracecomb/internal/state"
)

// boardFixture is a server with a saved query, two annotations of it (one
// of the environment, one of dataset "api"), another query, and an SLO.
type boardFixture struct {
	url, queryID, otherQueryID, annotationID, apiAnnotationID, sloID string
}

func newBoardFixture(t *testing.T, st state.Store) boardFixture {
	t.Helper()
	f := boardFixture{url: apiServer(t, st, apiquery.Deps{}), sloID: "slo7Kx2"}
	_, q, raw := jsonDo(t, "POST", f.url+"/1/queries/__all__", map[string]any{"calculations": []any{map[string]any{"op": "COUNT"}}, "time_range": 3600})
	f.queryID, _ = q["id"].(string)
	_, q, _ = jsonDo(t, "POST", f.url+"/1/queries/__all__", map[string]any{"calculations": []any{map[string]any{"op": "P99", "column": "duration_ms"}}})
	f.otherQueryID, _ = q["id"].(string)
	_, a, _ := jsonDo(t, "POST", f.url+"/1/query_annotations/__all__", map[string]any{"name": "requests", "query_id": f.queryID})
	f.annotationID, _ = a["id"].(string)
	if f.queryID == "" || f.otherQueryID == "" || f.annotationID == "" {
		t.Fatalf("fixture: %s %v", raw, a)
	}
	// An annotation of a dataset and an SLO, written as their APIs store
	// them.
	f.apiAnnotationID = "a9b8c7d6e5"
	ctx := context.Background()
	ann, _ := json.Marshal(apiquery.QueryAnnotation{ID: f.apiAnnotationID, Name: "api requests", QueryID: f.queryID})
	for _, rec := range []state.Record{
		{Kind: "honeycomb.query-annotation", Scope: "test", Key: "api/" + f.apiAnnotationID, Value: ann},
		{Kind: "honeycomb.slo", Scope: "test", Key: "api/" + f.sloID, Value: []byte(`{"id":"` + f.sloID + `","name":"availability"}`)},
		{Kind: "honeycomb.slo", Scope: "other", Key: "api/sloElsewhere", Value: []byte(`{"id":"sloElsewhere"}`)},
	} {
		if _, err := st.Put(ctx, rec, state.MustNotExist); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// validBoard is a board with one panel of each type, tags and preset
// filters, that passes every check.
func (f boardFixture) validBoard() map[string]any {
	return map[string]any{
		"name":        "Service health",
		"description": "requests, availability and notes",
		"type":        "flexible",
		"panels": []any{
			map[string]any{"type": "query", "query_panel": map[string]any{"query_id": f.queryID, "query_annotation_id": f.annotationID,
				"visualization_settings": map[string]any{"utc_xaxis": true, "charts": []any{map[string]any{"chart_index": 0, "chart_type": "line", "log_scale": true}}}},
				"position": map[string]any{"x_coordinate": 0, "y_coordinate": 0, "height": 6, "width": 8}},
			map[string]any{"type": "slo", "slo_panel": map[string]any{"slo_id": f.sloID},
				"position": map[string]any{"x_coordinate": 8, "y_coordinate": 0, "height": 4, "width": 4}},
			map[string]any{"type": "text", "text_panel": map[string]any{"content": "# Notes\n\nDeploys on Tuesdays."},
				"position": map[string]any{"x_coordinate": 8, "y_coordinate": 4, "height": 2, "width": 4}},
		},
		"layout_generation": "manual",
		"tags":              []any{map[string]any{"key": "team", "value": "backend"}},
		"preset_filters":    []any{map[string]any{"column": "service.name", "alias": "Service"}},
	}
}

// panel returns a copy of body with panel i's field (dot-separated path
// inside the panel) set to v, or removed when v is nil.
func panel(body map[string]any, i int, path string, v any) map[string]any {
	out := with(body, "x", nil) // a deep copy
	panels := out["panels"].([]any)
	panels[i] = with(panels[i].(map[string]any), path, v)
	return out
}

// TestBoards: create, list, get, update and delete a board with query,
// SLO and text panels; a PUT without preset filters keeps them, one with
// an empty list removes them.
func TestBoards(t *testing.T) {
	f := newBoardFixture(t, openState(t, t.TempDir()))
	base := f.url + "/1/boards"

	code, b, raw := jsonDo(t, "POST", base, f.validBoard())
	if code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	id, _ := b["id"].(string)
	if !regexp.MustCompile(`^[1-9A-HJ-NP-Za-km-z]{1,11}$`).MatchString(id) {
		t.Errorf("id %q, want Honeycomb's style of base58", id)
	}
	// The JSON of a board as the API sends it.
	pretty, _ := json.MarshalIndent(b, "", "  ")
	golden := strings.NewReplacer(id, "BOARD_ID", f.annotationID, "ANNOTATION_ID").Replace(string(pretty))
	checkGolden(t, "board.json", []byte(golden+"\n"))

	code, _, b2raw := jsonDo(t, "POST", base, with(with(f.validBoard(), "name", "second"), "preset_filters", nil))
	if code != 201 {
		t.Fatalf("create a second board: %d %s", code, b2raw)
	}
	var list []apiquery.Board
	code, _, lraw := do(t, "GET", base, nil)
	if err := json.Unmarshal(lraw, &list); code != 200 || err != nil || len(list) != 2 || list[0].ID != id || list[1].Name != "second" {
		t.Fatalf("list: %d %s", code, lraw)
	}
	if len(list[1].PresetFilters) != 0 || list[1].PresetFilters == nil {
		t.Errorf("a board created without preset filters: %+v, want []", list[1].PresetFilters)
	}
	if code, g, raw := jsonDo(t, "GET", base+"/"+id, nil); code != 200 || g["name"] != "Service health" || len(g["panels"].([]any)) != 3 ||
		g["links"].(map[string]any)["board_url"] != "/boards?board="+id {
		t.Errorf("get: %d %s, want the board with its link to the UI", code, raw)
	}

	// PUT replaces the board; without preset_filters it keeps them.
	upd := with(with(f.validBoard(), "name", "renamed"), "preset_filters", nil)
	upd["panels"] = upd["panels"].([]any)[1:]
	code, m, raw := jsonDo(t, "PUT", base+"/"+id, upd)
	if code != 200 || m["name"] != "renamed" || m["id"] != id || len(m["panels"].([]any)) != 2 || !strings.Contains(raw, `"alias":"Service"`) {
		t.Errorf("update keeping the preset filters: %d %s", code, raw)
	}
	code, m, raw = jsonDo(t, "PUT", base+"/"+id, with(upd, "preset_filters", []any{}))
	if pf, _ := m["preset_filters"].([]any); code != 200 || pf == nil || len(pf) != 0 {
		t.Errorf("update with no preset filters: %d %s, want them removed", code, raw)
	}
	if code, _, raw := jsonDo(t, "PUT", base+"/nosuchboard", upd); code != 404 {
		t.Errorf("update a missing board: %d %s", code, raw)
	}
	if code, _, raw := jsonDo(t, "PUT", base+"/"+id, with(upd, "name", "")); code != 422 {
		t.Errorf("an invalid update: %d %s", code, raw)
	}
	if code, g, _ := jsonDo(t, "GET", base+"/"+id, nil); code != 200 || g["name"] != "renamed" {
		t.Errorf("after the invalid update: %d %v, want it unchanged", code, g["name"])
	}

	if code, _, b := do(t, "DELETE", base+"/"+id, nil); code != 204 {
		t.Errorf("delete: %d %s", code, b)
	}
	for _, method := range []string{"GET", "DELETE"} {
		if code, _, b := do(t, method, base+"/"+id, nil); code != 404 || !strings.Contains(string(b), "Board not found") {
			t.Errorf("%s of the deleted board: %d %s", method, code, b)
		}
	}
}

// TestBoardPanelReferences: a query panel shows its annotation's dataset
// (empty for the environment's), and what a panel names must exist in
// the environment.
func TestBoardPanelReferences(t *testing.T) {
	f := newBoardFixture(t, openState(t, t.TempDir()))
	base := f.url + "/1/boards"
	for _, c := range []struct {
		annotation, dataset string
	}{{f.annotationID, ""}, {f.apiAnnotationID, "api"}} {
		code, m, raw := jsonDo(t, "POST", base, panel(f.validBoard(), 0, "query_panel.query_annotation_id", c.annotation))
		if code != 201 {
			t.Fatalf("annotation %s: %d %s", c.annotation, code, raw)
		}
		qp := m["panels"].([]any)[0].(map[string]any)["query_panel"].(map[string]any)
		if qp["dataset"] != c.dataset || qp["query_style"] != "graph" {
			t.Errorf("annotation %s: query panel %v, want dataset %q and query_style graph", c.annotation, qp, c.dataset)
		}
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"no such query", panel(f.validBoard(), 0, "query_panel.query_id", "nosuchquery"), "panels[0].query_panel.query_id"},
		{"no such annotation", panel(f.validBoard(), 0, "query_panel.query_annotation_id", "nosuchannotation"), "panels[0].query_panel.query_annotation_id"},
		{"annotation of another query", panel(f.validBoard(), 0, "query_panel.query_id", f.otherQueryID), "panels[0].query_panel.query_annotation_id"},
		{"no such SLO", panel(f.validBoard(), 1, "slo_panel.slo_id", "nosuchslo"), "panels[1].slo_panel.slo_id"},
		{"an SLO of another environment", panel(f.validBoard(), 1, "slo_panel.slo_id", "sloElsewhere"), "panels[1].slo_panel.slo_id"},
	} {
		code, _, raw := jsonDo(t, "POST", base, c.body)
		if code != 422 || !strings.Contains(raw, `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming %s", c.name, code, raw, c.field)
		}
	}
}

// TestBoardValidation: each rule has a failing input, answered 422 naming
// its field (400 for a body that is not JSON), and nothing is written.
func TestBoardValidation(t *testing.T) {
	f := newBoardFixture(t, openState(t, t.TempDir()))
	base := f.url + "/1/boards"
	v := f.validBoard()
	tags := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"key": "k", "value": fmt.Sprintf("v%d", i)})
		}
		return out
	}
	filters := func(n int) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"column": fmt.Sprintf("c%d", i), "alias": "a"})
		}
		return out
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{with(v, "name", nil), "name"},
		{with(v, "name", "  "), "name"},
		{with(v, "name", strings.Repeat("n", 256)), "name"},
		{with(v, "description", strings.Repeat("d", 1025)), "description"},
		{with(v, "type", nil), "type"},
		{with(v, "type", "classic"), "type"},
		{with(v, "layout_generation", "grid"), "layout_generation"},
		{with(v, "tags", tags(11)), "tags"},
		{with(v, "tags", []any{map[string]any{"value": "x"}}), "tags[0].key"},
		{with(v, "tags", []any{map[string]any{"key": "Team", "value": "x"}}), "tags[0].key"},
		{with(v, "tags", []any{map[string]any{"key": strings.Repeat("k", 33), "value": "x"}}), "tags[0].key"},
		{with(v, "tags", []any{map[string]any{"key": "team"}}), "tags[0].value"},
		{with(v, "tags", []any{map[string]any{"key": "team", "value": "1st"}}), "tags[0].value"},
		{with(v, "tags", []any{map[string]any{"key": "team", "value": "Back End"}}), "tags[0].value"},
		{with(v, "tags", []any{map[string]any{"key": "team", "value": "b" + strings.Repeat("x", 128)}}), "tags[0].value"},
		{with(v, "preset_filters", filters(6)), "preset_filters"},
		{with(v, "preset_filters", []any{map[string]any{"alias": "a"}}), "preset_filters[0].column"},
		{with(v, "preset_filters", []any{map[string]any{"column": "c"}}), "preset_filters[0].alias"},
		{with(v, "preset_filters", []any{map[string]any{"column": "c", "alias": strings.Repeat("a", 51)}}), "preset_filters[0].alias"},
		{panel(v, 0, "type", nil), "panels[0].type"},
		{panel(v, 0, "type", "graph"), "panels[0].type"},
		{panel(v, 0, "query_panel", nil), "panels[0].query_panel"},
		{panel(v, 0, "query_panel.query_id", nil), "panels[0].query_panel.query_id"},
		{panel(v, 0, "query_panel.query_annotation_id", nil), "panels[0].query_panel.query_annotation_id"},
		{panel(v, 0, "query_panel.query_style", "pie"), "panels[0].query_panel.query_style"},
		{panel(v, 0, "query_panel.visualization_settings.charts", []any{map[string]any{"chart_type": "radar"}}), "panels[0].query_panel.visualization_settings.charts[0].chart_type"},
		{panel(v, 0, "query_panel.visualization_settings.charts", []any{map[string]any{"chart_index": -1}}), "panels[0].query_panel.visualization_settings.charts[0].chart_index"},
		{panel(v, 0, "position.x_coordinate", -1), "panels[0].position.x_coordinate"},
		{panel(v, 0, "position.height", -2), "panels[0].position.height"},
		{panel(v, 0, "position.width", 13), "panels[0].position.width"},
		{panel(v, 1, "slo_panel", nil), "panels[1].slo_panel"},
		{panel(v, 1, "slo_panel.slo_id", nil), "panels[1].slo_panel.slo_id"},
		{panel(v, 2, "text_panel", nil), "panels[2].text_panel"},
		{panel(v, 2, "text_panel.content", ""), "panels[2].text_panel.content"},
		{panel(v, 2, "text_panel.content", strings.Repeat("x", 10001)), "panels[2].text_panel.content"},
		{with(v, "name", 7), "name"},
		{with(v, "panels", "all of them"), "panels"},
	} {
		code, _, raw := jsonDo(t, "POST", base, c.body)
		if code != 422 || !strings.Contains(raw, `"field":"`+c.field+`"`) {
			t.Errorf("%s: %d %s, want 422 naming it", c.field, code, raw)
		}
	}
	if code, _, b := do(t, "POST", base, "{"); code != 400 {
		t.Errorf("a body that is not JSON: %d %s", code, b)
	}
	if code, _, b := do(t, "GET", base, nil); code != 200 || string(b) != "[]\n" {
		t.Errorf("after the refused creates: %d %s, want no boards", code, b)
	}
}

// TestBoardLayout: panels without positions, or of a board with
// layout_generation auto, are placed in rows 12 wide; a size of 0 is the
// panel type's default; manual positions are kept.
func TestBoardLayout(t *testing.T) {
	f := newBoardFixture(t, openState(t, t.TempDir()))
	q := map[string]any{"type": "query", "query_panel": map[string]any{"query_id": f.queryID, "query_annotation_id": f.annotationID}}
	slo := map[string]any{"type": "slo", "slo_panel": map[string]any{"slo_id": f.sloID}}
	text := map[string]any{"type": "text", "text_panel": map[string]any{"content": "hello"}}
	at := func(p map[string]any, x, y, h, w int) map[string]any {
		return with(p, "position", map[string]any{"x_coordinate": x, "y_coordinate": y, "height": h, "width": w})
	}
	type pos = apiquery.PanelPosition
	for _, c := range []struct {
		name   string
		layout string
		panels []any
		want   []pos
	}{
		{"no positions", "", []any{q, q, slo, text, slo, q}, []pos{
			{X: 0, Y: 0, Height: 6, Width: 6}, {X: 6, Y: 0, Height: 6, Width: 6},
			{X: 0, Y: 6, Height: 4, Width: 3}, {X: 3, Y: 6, Height: 3, Width: 3}, {X: 6, Y: 6, Height: 4, Width: 3},
			{X: 0, Y: 10, Height: 6, Width: 6}}},
		{"sizes without places", "manual", []any{at(text, 0, 0, 2, 12), at(q, 0, 0, 0, 0)}, []pos{
			{X: 0, Y: 0, Height: 2, Width: 12}, {X: 0, Y: 2, Height: 6, Width: 6}}},
		{"manual", "manual", []any{at(q, 4, 0, 5, 8), at(text, 0, 0, 0, 4), at(slo, 0, 5, 3, 0)}, []pos{
			{X: 4, Y: 0, Height: 5, Width: 8}, {X: 0, Y: 0, Height: 3, Width: 4}, {X: 0, Y: 5, Height: 3, Width: 3}}},
		{"auto ignores places", "auto", []any{at(q, 4, 9, 5, 8), at(text, 7, 7, 0, 4), at(slo, 0, 5, 3, 0)}, []pos{
			{X: 0, Y: 0, Height: 5, Width: 8}, {X: 8, Y: 0, Height: 3, Width: 4}, {X: 0, Y: 5, Height: 3, Width: 3}}},
	} {
		body := map[string]any{"name": c.name, "type": "flexible", "panels": c.panels}
		if c.layout != "" {
			body["layout_generation"] = c.layout
		}
		code, _, b := do(t, "POST", f.url+"/1/boards", body)
		var got apiquery.Board
		if err := json.Unmarshal(b, &got); code != 201 || err != nil {
			t.Fatalf("%s: %d %s", c.name, code, b)
		}
		if len(got.Panels) != len(c.want) {
			t.Fatalf("%s: %d panels, want %d", c.name, len(got.Panels), len(c.want))
		}
		for i, p := range got.Panels {
			if p.Position == nil || *p.Position != c.want[i] {
				t.Errorf("%s: panel %d at %+v, want %+v", c.name, i, p.Position, c.want[i])
			}
		}
	}
}

// TestBoardsSurviveRestart: boards and views are in the state store, so a
// new server on the same data directory has them.
func TestBoardsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	st := openState(t, dir)
	f := newBoardFixture(t, st)
	_, b, raw := jsonDo(t, "POST", f.url+"/1/boards", f.validBoard())
	id, _ := b["id"].(string)
	_, vw, _ := jsonDo(t, "POST", f.url+"/1/boards/"+id+"/views", map[string]any{"name": "errors", "filters": []any{map[string]any{"column": "error", "operation": "exists"}}})
	vid, _ := vw["id"].(string)
	if id == "" || vid == "" {
		t.Fatalf("create: %s %v", raw, vw)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	url := apiServer(t, openState(t, dir), apiquery.Deps{})
	if code, g, raw := jsonDo(t, "GET", url+"/1/boards/"+id, nil); code != 200 || g["name"] != "Service health" {
		t.Errorf("the board after a restart: %d %s", code, raw)
	}
	if code, g, raw := jsonDo(t, "GET", url+"/1/boards/"+id+"/views/"+vid, nil); code != 200 || g["name"] != "errors" {
		t.Errorf("the view after a restart: %d %s", code, raw)
	}
}

// TestBoardViews: create, list, get, update and delete views; their
// filters are checked against each operation; names are unique on a
// board; a board has at most 50; they go with their board.
func TestBoardViews(t *testing.T) {
	st := openState(t, t.TempDir())
	f := newBoardFixture(t, st)
	_, b, raw := jsonDo(t, "POST", f.url+"/1/boards", f.validBoard())
	id, _ := b["id"].(string)
	if id == "" {
		t.Fatalf("create a board: %s", raw)
	}
	base := f.url + "/1/boards/" + id + "/views"
	view := map[string]any{"name": "slow api errors", "filters": []any{
		map[string]any{"column": "status", "operation": "=", "value": "error"},
		map[string]any{"column": "duration_ms", "operation": ">", "value": 100},
		map[string]any{"column": "service", "operation": "in", "value": []any{"api", "web"}},
		map[string]any{"column": "error", "operation": "exists"},
	}}
	code, m, raw := jsonDo(t, "POST", base, view)
	if code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	vid, _ := m["id"].(string)
	pretty, _ := json.MarshalIndent(m, "", "  ")
	checkGolden(t, "board-view.json", []byte(strings.ReplaceAll(string(pretty), vid, "VIEW_ID")+"\n"))

	if code, _, raw := jsonDo(t, "POST", base, view); code != 409 {
		t.Errorf("a second view of the name: %d %s, want 409", code, raw)
	}
	if code, _, raw := jsonDo(t, "POST", f.url+"/1/boards/nosuchboard/views", view); code != 404 || !strings.Contains(raw, "Board not found") {
		t.Errorf("a view of a missing board: %d %s", code, raw)
	}
	if code, _, raw := jsonDo(t, "GET", f.url+"/1/boards/nosuchboard/views", nil); code != 404 {
		t.Errorf("views of a missing board: %d %s", code, raw)
	}

	f0 := func(k string, v any) map[string]any {
		return map[string]any{"name": "v", "filters": []any{with(map[string]any{"column": "c", "operation": "=", "value": "x"}, k, v)}}
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"filters": view["filters"]}, "name"},
		{map[string]any{"name": strings.Repeat("n", 256), "filters": view["filters"]}, "name"},
		{map[string]any{"name": "v"}, "filters"},
		{map[string]any{"name": "v", "filters": []any{}}, "filters"},
		{map[string]any{"name": "v", "filters": []any{"status"}}, "filters[0]"},
		{f0("column", nil), "filters[0].column"},
		{f0("operation", nil), "filters[0].operation"},
		{f0("operation", "like"), "filters[0].operation"},
		{f0("value", nil), "filters[0].value"},
		{f0("value", []any{"a"}), "filters[0].value"},
		{f0("operation", "in"), "filters[0].value"},
		{f0("operation", "exists"), "filters[0].value"},
		{map[string]any{"name": "v", "filters": []any{map[string]any{"column": "c", "operation": "not-in", "value": []any{}}}}, "filters[0].value"},
	} {
		code, _, raw := jsonDo(t, "POST", base, c.body)
		if code != 422 || !strings.Contains(raw, `"field":"`+c.field+`"`) {
			t.Errorf("%s (%v): %d %s, want 422 naming it", c.field, c.body, code, raw)
		}
	}

	// Update replaces name and filters.
	code, m, raw = jsonDo(t, "PUT", base+"/"+vid, map[string]any{"id": "ignored", "name": "errors", "filters": []any{map[string]any{"column": "error", "operation": "=", "value": true}}})
	if code != 200 || m["id"] != vid || m["name"] != "errors" || len(m["filters"].([]any)) != 1 {
		t.Errorf("update: %d %s", code, raw)
	}
	code, _, lraw := do(t, "GET", base, nil)
	var list []apiquery.BoardView
	if err := json.Unmarshal(lraw, &list); code != 200 || err != nil || len(list) != 1 || list[0].ID != vid || list[0].Name != "errors" {
		t.Errorf("list: %d %s", code, lraw)
	}
	if code, _, raw := jsonDo(t, "PUT", base+"/nosuchview", view); code != 404 {
		t.Errorf("update a missing view: %d %s", code, raw)
	}

	// At most 50 views: 49 more fit, the 51st does not.
	for i := range 49 {
		if code, _, raw := jsonDo(t, "POST", base, with(view, "name", fmt.Sprintf("view %d", i))); code != 201 {
			t.Fatalf("view %d: %d %s", i+2, code, raw)
		}
	}
	if code, _, raw := jsonDo(t, "POST", base, with(view, "name", "one too many")); code != 422 || !strings.Contains(raw, `"field":"views"`) {
		t.Errorf("the 51st view: %d %s, want 422", code, raw)
	}
	if code, _, raw := jsonDo(t, "DELETE", base+"/"+vid, nil); code != 204 {
		t.Errorf("delete: %d %s", code, raw)
	}
	if code, _, raw := jsonDo(t, "GET", base+"/"+vid, nil); code != 404 || !strings.Contains(raw, "Board view not found") {
		t.Errorf("the deleted view: %d %s", code, raw)
	}

	// Deleting the board deletes its views.
	if code, _, raw := jsonDo(t, "DELETE", f.url+"/1/boards/"+id, nil); code != 204 {
		t.Fatalf("delete the board: %d %s", code, raw)
	}
	keys, err := st.Keys(context.Background(), "honeycomb.board-view", "test")
	if err != nil || len(keys) != 0 {
		t.Errorf("views left after their board was deleted: %v %v", keys, err)
	}
}

// TestBoardProblemGolden pins the 422 body of a board naming its field.
func TestBoardProblemGolden(t *testing.T) {
	f := newBoardFixture(t, openState(t, t.TempDir()))
	code, _, b := do(t, "POST", f.url+"/1/boards", panel(f.validBoard(), 1, "slo_panel.slo_id", "nosuchslo"))
	var v any
	if err := json.Unmarshal(b, &v); code != 422 || err != nil {
		t.Fatalf("%d %s", code, b)
	}
	pretty, _ := json.MarshalIndent(v, "", "  ")
	checkGolden(t, "board-problem.json", append(pretty, '\n'))
}
