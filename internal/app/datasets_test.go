package app

import (
	"slices"
	"strings"
	"testing"
)

// field reads a dotted path of a decoded JSON object.
func field(m map[string]any, path string) any {
	var v any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = o[k]
	}
	return v
}

// TestDatasetsAPI: datasets are created, read, updated and deleted through
// /1/datasets as Honeycomb's API does it: 201 on creation and 200 with the
// existing one on a second POST; 422 naming the field for values out of
// Honeycomb's bounds; PUT sets every field (an omitted one back to its
// default, delete protection on); DELETE is refused 409 while protection
// is on, then removes the dataset, its events and columns. A dataset made
// by its events has the same settings, and they survive a restart.
func TestDatasetsAPI(t *testing.T) {
	dir := t.TempDir()
	a, key := testApp(t, dir)
	base := "http://" + a.Addrs().HTTP

	status, _, out := call(t, "POST", base+"/1/datasets", key, `{"name":"My Dataset!","description":"orders","expand_json_depth":3}`, false)
	if status != 201 || field(out, "slug") != "my-dataset-" || field(out, "description") != "orders" ||
		field(out, "expand_json_depth") != float64(3) || field(out, "settings.delete_protected") != true ||
		field(out, "last_written_at") != nil || field(out, "regular_columns_count") != nil {
		t.Fatalf("create: %d %v", status, out)
	}
	if status, _, again := call(t, "POST", base+"/1/datasets", key, `{"name":"my dataset!"}`, false); status != 200 || field(again, "description") != "orders" {
		t.Errorf("create again (another case): %d %v, want 200 with the existing dataset", status, again)
	}
	for _, tc := range []struct{ body, field string }{
		{`{"description":"x"}`, "name"},
		{`{"name":"  "}`, "name"},
		{`{"name":"` + strings.Repeat("n", 256) + `"}`, "name"},
		{`{"name":"d","description":"` + strings.Repeat("d", 1025) + `"}`, "description"},
		{`{"name":"d","expand_json_depth":11}`, "expand_json_depth"},
	} {
		status, raw, out := call(t, "POST", base+"/1/datasets", key, tc.body, false)
		if status != 422 || field(out, "type_detail") == nil || !strings.Contains(raw, `"field":"`+tc.field+`"`) {
			t.Errorf("POST %.60s: %d %v, want 422 naming %s", tc.body, status, out, tc.field)
		}
	}
	if status, _, _ := call(t, "POST", base+"/1/datasets", key, `not json`, false); status != 400 {
		t.Errorf("a body that is not JSON: %d, want 400", status)
	}

	// A dataset made by its events is listed with the created one.
	sendWithSDK(t, "http/protobuf", base, key, "checkout")
	var list []map[string]any
	if status := getJSON(t, base+"/1/datasets", key, &list); status != 200 || len(list) != 2 {
		t.Fatalf("list: %d %v", status, list)
	}
	if status, _, _ := call(t, "GET", base+"/1/columns/my-dataset-", key, "", false); status != 200 {
		t.Errorf("columns of a dataset without events: %d, want 200 (none)", status)
	}

	// Protected by default: DELETE is refused until PUT turns it off.
	if status, _, out := call(t, "DELETE", base+"/1/datasets/checkout", key, "", false); status != 409 {
		t.Fatalf("delete a protected dataset: %d %v, want 409", status, out)
	}
	status, _, out = call(t, "PUT", base+"/1/datasets/checkout", key, `{"description":"the shop","expand_json_depth":2,"settings":{"delete_protected":false}}`, false)
	if status != 200 || field(out, "description") != "the shop" || field(out, "settings.delete_protected") != false || field(out, "regular_columns_count") == nil {
		t.Fatalf("update: %d %v", status, out)
	}
	// PUT sets every field: an omitted one goes back to its default.
	status, _, out = call(t, "PUT", base+"/1/datasets/my-dataset-", key, `{"description":"kept"}`, false)
	if status != 200 || field(out, "expand_json_depth") != float64(0) || field(out, "settings.delete_protected") != true {
		t.Errorf("update with fields omitted: %d %v", status, out)
	}
	if status, _, _ := call(t, "PUT", base+"/1/datasets/nope", key, `{}`, false); status != 404 {
		t.Errorf("update of a dataset that does not exist: %d, want 404", status)
	}

	// Settings survive a restart.
	if err := a.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	a, key = testApp(t, dir)
	base = "http://" + a.Addrs().HTTP
	out = nil
	if status := getJSON(t, base+"/1/datasets/checkout", key, &out); status != 200 || field(out, "description") != "the shop" || field(out, "expand_json_depth") != float64(2) {
		t.Fatalf("after a restart: %d %v", status, out)
	}

	if status, _, _ := call(t, "DELETE", base+"/1/datasets/checkout", key, "", false); status != 202 {
		t.Fatalf("delete: %d, want 202", status)
	}
	if status := getJSON(t, base+"/1/datasets/checkout", key, nil); status != 404 {
		t.Errorf("the deleted dataset: %d, want 404", status)
	}
	if status := getJSON(t, base+"/1/columns/checkout", key, nil); status != 404 {
		t.Errorf("the deleted dataset's columns: %d, want 404", status)
	}
	if status := getJSON(t, base+"/1/datasets", key, &list); status != 200 || len(list) != 1 || list[0]["slug"] != "my-dataset-" {
		t.Errorf("list after the delete: %d %v", status, list)
	}
}

// TestDatasetExpandJSONDepth: the expand_json_depth set through
// /1/datasets is how deep the Events API unpacks nested objects into
// columns of that dataset; another dataset keeps Honeycomb's default, 0.
func TestDatasetExpandJSONDepth(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	if status, raw, _ := call(t, "POST", base+"/1/datasets", key, `{"name":"nested","expand_json_depth":1}`, false); status != 201 {
		t.Fatalf("create: %d %s", status, raw)
	}
	event := `{"a":{"b":1,"c":{"d":2}}}`
	for _, ds := range []string{"nested", "flat"} {
		if status, raw, _ := call(t, "POST", base+"/1/events/"+ds, key, event, false); status != 200 {
			t.Fatalf("send to %s: %d %s", ds, status, raw)
		}
	}
	for ds, want := range map[string][]string{"nested": {"a.b", "a.c"}, "flat": {"a"}} {
		var cols []map[string]any
		if status := getJSON(t, base+"/1/columns/"+ds, key, &cols); status != 200 {
			t.Fatalf("columns of %s: %d", ds, status)
		}
		var got []string
		for _, c := range cols {
			got = append(got, c["key_name"].(string))
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("columns of %s: %v, want %v", ds, got, want)
		}
	}
}

// TestColumnsAPI: columns are created, read, updated and deleted through
// /1/columns/{dataset} as Honeycomb's API does it: 201 for a new column,
// 409 for a key name the dataset has, 422 naming the field for a bad type;
// a column made by the events keeps its type and gets a description and
// hidden flag; DELETE removes its values from the store (204), and the
// dataset's deletion takes its columns' settings with it.
func TestColumnsAPI(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	if status, raw, _ := call(t, "POST", base+"/1/events/shop", key, `{"order_id":"o-1","amount":3}`, false); status != 200 {
		t.Fatalf("send: %d %s", status, raw)
	}
	cols := base + "/1/columns/shop"
	status, raw, out := call(t, "POST", cols, key, `{"key_name":"region","type":"string","description":"where","hidden":true}`, false)
	if status != 201 || field(out, "key_name") != "region" || field(out, "hidden") != true || field(out, "last_written") != nil || field(out, "id") == "" {
		t.Fatalf("create: %d %s", status, raw)
	}
	regionID := field(out, "id").(string)
	if status, raw, _ := call(t, "POST", cols, key, `{"key_name":"order_id"}`, false); status != 409 {
		t.Errorf("create a column the events made: %d %s, want 409", status, raw)
	}
	if status, raw, _ := call(t, "POST", cols, key, `{"key_name":"x","type":"date"}`, false); status != 422 || !strings.Contains(raw, `"field":"type"`) {
		t.Errorf("bad type: %d %s, want 422 naming type", status, raw)
	}
	if status, raw, _ := call(t, "POST", base+"/1/columns/nope", key, `{"key_name":"x"}`, false); status != 404 {
		t.Errorf("a dataset that does not exist: %d %s", status, raw)
	}

	// A column the events made: found by key name, updated, its type kept.
	status, raw, out = call(t, "GET", cols+"?key_name=amount", key, "", false)
	if status != 200 || field(out, "type") != "integer" || field(out, "last_written") == nil {
		t.Fatalf("amount: %d %s", status, raw)
	}
	amountID := field(out, "id").(string)
	status, raw, out = call(t, "PUT", cols+"/"+amountID, key, `{"description":"in cents","hidden":false}`, false)
	if status != 200 || field(out, "description") != "in cents" || field(out, "type") != "integer" {
		t.Fatalf("update amount: %d %s", status, raw)
	}
	if status, raw, _ := call(t, "PUT", cols+"/"+amountID, key, `{"key_name":"renamed"}`, false); status != 422 {
		t.Errorf("renaming a column: %d %s, want 422", status, raw)
	}
	var list []map[string]any
	if status := getJSON(t, cols, key, &list); status != 200 || len(list) != 3 {
		t.Fatalf("list: %d %v", status, list)
	}

	// Deleting a column removes its values.
	orderID := columnIDOf(t, list, "order_id")
	if status, raw, _ := call(t, "DELETE", cols+"/"+orderID, key, "", false); status != 204 {
		t.Fatalf("delete order_id: %d %s", status, raw)
	}
	if status, raw, _ := call(t, "GET", cols+"/"+orderID, key, "", false); status != 404 {
		t.Errorf("the deleted column: %d %s", status, raw)
	}
	if status, raw, _ := call(t, "GET", cols+"/"+regionID, key, "", false); status != 200 {
		t.Errorf("region after another column's deletion: %d %s", status, raw)
	}

	// The dataset goes with its columns' settings: made again by its
	// events, it has none of them.
	if status, raw, _ := call(t, "PUT", base+"/1/datasets/shop", key, `{"settings":{"delete_protected":false}}`, false); status != 200 {
		t.Fatalf("unprotect: %d %s", status, raw)
	}
	if status, raw, _ := call(t, "DELETE", base+"/1/datasets/shop", key, "", false); status != 202 {
		t.Fatalf("delete the dataset: %d %s", status, raw)
	}
	if status, raw, _ := call(t, "POST", base+"/1/events/shop", key, `{"amount":4}`, false); status != 200 {
		t.Fatalf("send again: %d %s", status, raw)
	}
	if status := getJSON(t, cols, key, &list); status != 200 || len(list) != 1 || list[0]["description"] != "" {
		t.Errorf("columns of the dataset made again: %d %v, want amount alone, without its old description", status, list)
	}
}

func columnIDOf(t *testing.T, cols []map[string]any, key string) string {
	t.Helper()
	for _, c := range cols {
		if c["key_name"] == key {
			return c["id"].(string)
		}
	}
	t.Fatalf("no column %s in %v", key, cols)
	return ""
}
