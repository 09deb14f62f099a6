package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// TestV2ManagementOverHTTP: a management key creates an environment and an
// ingest key in it over /2; the key (id + secret) sends an event to the
// Events API at once and /1/auth reports its environment; disabling it and
// then deleting it stop it.
func TestV2ManagementOverHTTP(t *testing.T) {
	a, _ := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	_, mgmt, err := a.Registry().CreateKey(auth.KeySpec{Kind: auth.KindManagement})
	if err != nil {
		t.Fatal(err)
	}
	v2 := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		code, raw, m := call(t, method, base+"/2/teams/tracecomb"+path, mgmt, body, true)
		if code >= 300 && code != 401 {
			t.Logf("%s %s: %d %s", method, path, code, raw)
		}
		return code, m
	}
	code, doc := v2("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"Staging","color":"gold"}}}`)
	if code != http.StatusCreated {
		t.Fatalf("create environment: %d %v", code, doc)
	}
	code, doc = v2("POST", "/api-keys", `{"data":{"type":"api-keys","attributes":{"name":"staging ingest","key_type":"ingest"},
		"relationships":{"environment":{"data":{"id":"staging","type":"environments"}}}}}`)
	data, _ := doc["data"].(map[string]any)
	if code != http.StatusCreated || data == nil {
		t.Fatalf("create key: %d %v", code, doc)
	}
	id := data["id"].(string)
	key := id + data["attributes"].(map[string]any)["secret"].(string)

	if code, body, _ := call(t, "POST", base+"/1/events/orders", key, `{"order_id":"o-1"}`, false); code != 200 {
		t.Fatalf("the new key sends an event: %d %s", code, body)
	}
	if code, body, m := call(t, "GET", base+"/1/auth", key, "", false); code != 200 || m["type"] != "ingest" ||
		m["environment"].(map[string]any)["slug"] != "staging" || m["id"] != id {
		t.Fatalf("/1/auth of the new key: %d %s", code, body)
	}

	// A key without create_datasets sends to the dataset that exists only.
	code, doc = v2("POST", "/api-keys", `{"data":{"type":"api-keys","attributes":{"key_type":"ingest","permissions":{"create_datasets":false}},
		"relationships":{"environment":{"data":{"id":"staging","type":"environments"}}}}}`)
	if code != http.StatusCreated {
		t.Fatalf("create a key without create_datasets: %d %v", code, doc)
	}
	data = doc["data"].(map[string]any)
	limited := data["id"].(string) + data["attributes"].(map[string]any)["secret"].(string)
	if code, body, _ := call(t, "POST", base+"/1/events/orders", limited, `{"order_id":"o-9"}`, false); code != 200 {
		t.Fatalf("to an existing dataset: %d %s", code, body)
	}
	if code, body, _ := call(t, "POST", base+"/1/events/newone", limited, `{"x":1}`, false); code != 404 {
		t.Fatalf("to a new dataset: %d %s", code, body)
	}

	if code, doc := v2("PATCH", "/api-keys/"+id, `{"data":{"id":"`+id+`","type":"api-keys","attributes":{"disabled":true}}}`); code != 200 {
		t.Fatalf("disable: %d %v", code, doc)
	}
	if code, body, _ := call(t, "POST", base+"/1/events/orders", key, `{"order_id":"o-2"}`, false); code != 401 || !strings.Contains(body, "disabled") {
		t.Fatalf("a disabled key sends: %d %s", code, body)
	}
	if code, doc := v2("PATCH", "/api-keys/"+id, `{"data":{"id":"`+id+`","type":"api-keys","attributes":{"disabled":false}}}`); code != 200 {
		t.Fatalf("enable: %d %v", code, doc)
	}
	if code, body, _ := call(t, "POST", base+"/1/events/orders", key, `{"order_id":"o-3"}`, false); code != 200 {
		t.Fatalf("an enabled key: %d %s", code, body)
	}
	if code, doc := v2("DELETE", "/api-keys/"+id, ""); code != http.StatusNoContent {
		t.Fatalf("delete: %d %v", code, doc)
	}
	if code, body, _ := call(t, "POST", base+"/1/events/orders", key, `{"order_id":"o-4"}`, false); code != 401 {
		t.Fatalf("a deleted key sends: %d %s", code, body)
	}
	if code, _ := v2("DELETE", "/environments/staging", ""); code != http.StatusConflict {
		t.Fatalf("delete a protected environment: %d", code)
	}
	// Deleted, the environment takes its keys and its datasets along: made
	// again, it has none.
	if code, doc := v2("PATCH", "/environments/staging", `{"data":{"type":"environments","attributes":{"settings":{"delete_protected":false}}}}`); code != 200 {
		t.Fatalf("unprotect: %d %v", code, doc)
	}
	if code, _ := v2("DELETE", "/environments/staging", ""); code != http.StatusNoContent {
		t.Fatalf("delete the environment: %d", code)
	}
	if code, body, _ := call(t, "POST", base+"/1/events/orders", limited, `{"order_id":"o-10"}`, false); code != 401 {
		t.Fatalf("a key of a deleted environment sends: %d %s", code, body)
	}
	if code, doc := v2("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"Staging"}}}`); code != http.StatusCreated {
		t.Fatalf("create the environment again: %d %v", code, doc)
	}
	code, doc = v2("POST", "/api-keys", `{"data":{"type":"api-keys","attributes":{"key_type":"configuration"},
		"relationships":{"environment":{"data":{"id":"staging","type":"environments"}}}}}`)
	if code != http.StatusCreated {
		t.Fatalf("create a configuration key: %d %v", code, doc)
	}
	token := doc["data"].(map[string]any)["attributes"].(map[string]any)["secret"].(string)
	if code, body, _ := call(t, "GET", base+"/1/datasets", token, "", false); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Fatalf("datasets of the environment made again: %d %s", code, body)
	}

	// The /2 API takes no ingest key.
	if code, _, m := call(t, "GET", base+"/2/teams/tracecomb/environments", key, "", true); code != 401 || m["errors"] == nil {
		t.Fatalf("/2 with an ingest key: %d %v", code, m)
	}
}
