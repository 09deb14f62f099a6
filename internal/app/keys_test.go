package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/auth"
)

// call sends one request with a Honeycomb key (or, with bearer, a /2
// management key) and returns the status, the body and its JSON.
func call(t *testing.T, method, url, key, body string, bearer bool) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if bearer {
		req.Header.Set("Authorization", "Bearer "+key)
	} else if key != "" {
		req.Header.Set("X-Honeycomb-Team", key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, string(b), m
}

// TestKeyKindsOverHTTP: each kind of key can do what Honeycomb's can and
// gets Honeycomb's error bodies for the rest; revocation works for every
// kind.
func TestKeyKindsOverHTTP(t *testing.T) {
	a, _ := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	reg := a.Registry()
	mk := func(spec auth.KeySpec) (string, string) {
		t.Helper()
		rec, secret, err := reg.CreateKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		return rec.ID, secret
	}
	ingestID, ingest := mk(auth.KeySpec{Env: "test", Kind: auth.KindIngest})
	columnsID, columnsOnly := mk(auth.KeySpec{Env: "test", Kind: auth.KindConfiguration, Access: []auth.Permission{auth.PermColumns}})
	_, full := mk(auth.KeySpec{Env: "test", Kind: auth.KindConfiguration})
	mgmtID, mgmt := mk(auth.KeySpec{Kind: auth.KindManagement})

	// The ingest key sends; the columns-only key may not.
	sendWithSDK(t, "http/protobuf", base, ingest, "svc")
	if code, body, _ := call(t, "POST", base+"/v1/traces", columnsOnly, "{}", false); code != 401 || !strings.Contains(body, "permission") {
		t.Errorf("a configuration key without events sends: %d %s", code, body)
	}

	spec := `{"calculations":[{"op":"COUNT"}],"time_range":3600}`
	for _, c := range []struct {
		name, method, path, key, body string
		want                          int
		wantType                      string
	}{
		{"ingest /1/auth", "GET", "/1/auth", ingest, "", 200, ""},
		{"ingest datasets", "GET", "/1/datasets", ingest, "", 403, "forbidden"},
		{"ingest query", "POST", "/1/queries/svc", ingest, spec, 403, "forbidden"},
		{"ingest trace", "GET", "/api/traces/5759e988bd862e3fe1be46a994272793", ingest, "", 403, "forbidden"},
		{"columns-only datasets", "GET", "/1/datasets", columnsOnly, "", 200, ""},
		{"columns-only query spec", "POST", "/1/queries/svc", columnsOnly, spec, 200, ""},
		{"columns-only cannot run it", "POST", "/1/query_results/svc", columnsOnly, `{"query_id":"x"}`, 403, "forbidden"},
		{"columns-only markers", "GET", "/1/markers/svc", columnsOnly, "", 403, "forbidden"},
		{"full markers", "GET", "/1/markers/svc", full, "", 200, ""},
		{"marker on a dataset that does not exist", "POST", "/1/markers/nope", full, `{"message":"deploy"}`, 404, "not-found"},
		{"query on a dataset that does not exist", "POST", "/1/queries/nope", full, spec, 404, "not-found"},
		{"management key on the v1 API", "GET", "/1/auth", mgmt, "", 403, "forbidden"},
		{"unknown v1 route", "GET", "/1/nothing/here", full, "", 404, "not-found"},
		{"wrong method", "DELETE", "/1/datasets", full, "", 405, "method-not-allowed"},
		{"no key", "GET", "/1/datasets", "", "", 401, "unauthenticated"},
	} {
		code, body, m := call(t, c.method, base+c.path, c.key, c.body, false)
		if code != c.want {
			t.Errorf("%s: %d %s, want %d", c.name, code, body, c.want)
			continue
		}
		if c.wantType != "" && (m["type"] != "https://api.honeycomb.io/problems/"+c.wantType || m["error"] == "" || m["title"] == "" || m["status"] != float64(c.want)) {
			t.Errorf("%s: body %s, want Honeycomb's %s problem", c.name, body, c.wantType)
		}
	}

	_, _, m := call(t, "GET", base+"/1/auth", ingest, "", false)
	if m["type"] != "ingest" || len(m["api_key_access"].(map[string]any)) != 1 {
		t.Errorf("/1/auth of an ingest key: %v", m)
	}
	_, _, m = call(t, "GET", base+"/1/auth", columnsOnly, "", false)
	if acc := m["api_key_access"].(map[string]any); m["type"] != "configuration" || acc["columns"] != true || acc["queries"] != false {
		t.Errorf("/1/auth of a columns-only key: %v", m)
	}

	// /2 takes management keys only, as Bearer.
	code, body, m := call(t, "GET", base+"/2/auth", mgmt, "", true)
	if data, _ := m["data"].(map[string]any); code != 200 || data["id"] != mgmtID || data["attributes"].(map[string]any)["key_type"] != "management" {
		t.Errorf("/2/auth: %d %s", code, body)
	}
	if code, body, m := call(t, "GET", base+"/2/auth", full, "", true); code != 401 || m["errors"] == nil {
		t.Errorf("/2/auth with a configuration key: %d %s", code, body)
	}

	// Revocation, every kind.
	for _, c := range []struct {
		id, key, path string
		bearer        bool
	}{{ingestID, ingest, "/1/auth", false}, {columnsID, columnsOnly, "/1/datasets", false}, {mgmtID, mgmt, "/2/auth", true}} {
		if err := reg.Revoke(c.id); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			code, body, _ := call(t, "GET", base+c.path, c.key, "", c.bearer)
			if code == 401 && strings.Contains(body, "disabled") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("revoked %s still answers %d %s", c.id, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// TestAuthFailuresLimited: an address that fails authentication 20 times
// a minute on the API gets 429 with Retry-After, even with a good key;
// ingest paths are not limited (their senders retry).
func TestAuthFailuresLimited(t *testing.T) {
	a, key := testApp(t, t.TempDir())
	base := "http://" + a.Addrs().HTTP
	for i := range 20 {
		if code, _, _ := call(t, "GET", base+"/1/auth", fmt.Sprintf("guess-%d", i), "", false); code != 401 {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	req, _ := http.NewRequest("GET", base+"/1/auth", nil)
	req.Header.Set("X-Honeycomb-Team", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 20 failures: %d (Retry-After %q)", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _, _ := call(t, "POST", base+"/1/batch/svc", "guess", "[]", false); code != 401 {
		t.Errorf("the Events API is limited too: %d", code)
	}
}
