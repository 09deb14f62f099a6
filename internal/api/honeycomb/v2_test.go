package honeycomb

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/tracecomb/tracecomb/internal/auth"
)

type v2Server struct {
	t    *testing.T
	base string
	mgmt string
	reg  *auth.Registry
}

func newV2Server(t *testing.T) *v2Server {
	t.Helper()
	reg, err := auth.Open(t.TempDir(), nil)
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
	Register(mux, Deps{Auth: reg})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &v2Server{t: t, base: srv.URL + "/2/teams/tracecomb", mgmt: mgmt, reg: reg}
}

// do sends a /2 request with the management key and returns the status
// and the decoded document.
func (s *v2Server) do(method, path, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.mgmt)
	if body != "" {
		req.Header.Set("Content-Type", jsonAPIType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &doc); err != nil {
			s.t.Fatalf("%s %s: %d, body %q is not JSON", method, path, resp.StatusCode, raw)
		}
		if ct := resp.Header.Get("Content-Type"); ct != jsonAPIType {
			s.t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	return resp.StatusCode, doc
}

func data(doc map[string]any) map[string]any {
	d, _ := doc["data"].(map[string]any)
	return d
}

func attrs(doc map[string]any) map[string]any {
	a, _ := data(doc)["attributes"].(map[string]any)
	return a
}

// wantError checks a JSON:API error document of status, with a source
// pointer when pointer is not empty.
func wantError(t *testing.T, what string, code int, doc map[string]any, status int, pointer string) {
	t.Helper()
	errs, _ := doc["errors"].([]any)
	if code != status || len(errs) != 1 {
		t.Errorf("%s: %d %v, want %d with one error", what, code, doc, status)
		return
	}
	e := errs[0].(map[string]any)
	if e["status"] != strconv.Itoa(status) || e["detail"] == "" || e["title"] == "" {
		t.Errorf("%s: error object %v", what, e)
	}
	if pointer != "" {
		if src, _ := e["source"].(map[string]any); src["pointer"] != pointer {
			t.Errorf("%s: source %v, want pointer %s", what, e["source"], pointer)
		}
	}
}

// TestV2Environments: list, create (slug derived, delete protected),
// get, update, refused deletion while protected, delete; JSON:API errors.
func TestV2Environments(t *testing.T) {
	s := newV2Server(t)
	code, doc := s.do("GET", "/environments", "")
	if list, _ := doc["data"].([]any); code != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != "test" {
		t.Fatalf("list: %d %v", code, doc)
	}

	code, doc = s.do("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"Prod EU","description":"eu","color":"lightBlue"}}}`)
	a := attrs(doc)
	if code != 201 || data(doc)["id"] != "prod-eu" || data(doc)["type"] != "environments" || a["slug"] != "prod-eu" || a["name"] != "Prod EU" ||
		a["description"] != "eu" || a["color"] != "lightBlue" || a["settings"].(map[string]any)["delete_protected"] != true {
		t.Fatalf("create: %d %v", code, doc)
	}
	code, doc = s.do("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"prod eu"}}}`)
	wantError(t, "same slug", code, doc, 409, "/data/attributes/name")
	code, doc = s.do("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"x","color":"pink"}}}`)
	wantError(t, "bad color", code, doc, 422, "/data/attributes/color")
	code, doc = s.do("POST", "/environments", `{"data":{"type":"environments","attributes":{}}}`)
	wantError(t, "no name", code, doc, 422, "/data/attributes/name")
	code, doc = s.do("POST", "/environments", `{"data":{"type":"api-keys","attributes":{"name":"y"}}}`)
	wantError(t, "wrong type", code, doc, 409, "/data/type")
	code, doc = s.do("POST", "/environments", `{"data":`)
	wantError(t, "bad JSON", code, doc, 400, "")

	if code, doc = s.do("GET", "/environments/prod-eu", ""); code != 200 || attrs(doc)["name"] != "Prod EU" {
		t.Fatalf("get: %d %v", code, doc)
	}
	code, doc = s.do("GET", "/environments/nope", "")
	wantError(t, "get unknown", code, doc, 404, "")

	code, doc = s.do("DELETE", "/environments/prod-eu", "")
	wantError(t, "delete protected", code, doc, 409, "")

	code, doc = s.do("PATCH", "/environments/prod-eu", `{"data":{"id":"prod-eu","type":"environments","attributes":{"color":"red","settings":{"delete_protected":false}}}}`)
	if a := attrs(doc); code != 200 || a["color"] != "red" || a["description"] != "eu" || a["settings"].(map[string]any)["delete_protected"] != false {
		t.Fatalf("patch: %d %v", code, doc)
	}
	code, doc = s.do("PATCH", "/environments/prod-eu", `{"data":{"id":"prod-eu","type":"environments","attributes":{"name":"Other"}}}`)
	wantError(t, "rename", code, doc, 422, "/data/attributes/name")
	code, doc = s.do("PATCH", "/environments/prod-eu", `{"data":{"id":"test","type":"environments","attributes":{}}}`)
	wantError(t, "id mismatch", code, doc, 409, "/data/id")

	if code, doc = s.do("DELETE", "/environments/prod-eu", ""); code != 204 || doc != nil {
		t.Fatalf("delete: %d %v", code, doc)
	}
	code, doc = s.do("DELETE", "/environments/prod-eu", "")
	wantError(t, "delete twice", code, doc, 404, "")
}

// TestV2Pagination: page[size] and the next link walk every environment
// once.
func TestV2Pagination(t *testing.T) {
	s := newV2Server(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		if code, doc := s.do("POST", "/environments", `{"data":{"type":"environments","attributes":{"name":"`+n+`"}}}`); code != 201 {
			t.Fatalf("create %s: %d %v", n, code, doc)
		}
	}
	var seen []string
	path := "/environments?page[size]=2"
	for range 5 {
		code, doc := s.do("GET", path, "")
		if code != 200 {
			t.Fatalf("%s: %d %v", path, code, doc)
		}
		for _, item := range doc["data"].([]any) {
			seen = append(seen, item.(map[string]any)["id"].(string))
		}
		next, _ := doc["links"].(map[string]any)["next"].(string)
		if next == "" {
			break
		}
		path = strings.TrimPrefix(next, "/2/teams/tracecomb")
	}
	if strings.Join(seen, ",") != "a,b,c,d,test" {
		t.Fatalf("pages gave %v", seen)
	}
	code, doc := s.do("GET", "/environments?page[size]=101", "")
	wantError(t, "page too large", code, doc, 400, "")
}

// TestV2APIKeys: create (secret once; an ingest key is id + secret and
// works at once), list with filter[type], get, update, disable, delete.
func TestV2APIKeys(t *testing.T) {
	s := newV2Server(t)
	ctx := context.Background()
	code, doc := s.do("POST", "/api-keys", `{"data":{"type":"api-keys","attributes":{"name":"ship","key_type":"ingest","permissions":{"create_datasets":true}},
		"relationships":{"environment":{"data":{"id":"test","type":"environments"}}}}}`)
	a := attrs(doc)
	id, _ := data(doc)["id"].(string)
	secret, _ := a["secret"].(string)
	if code != 201 || !strings.HasPrefix(id, "hcaik_") || len(id+secret) != 64 || a["key_type"] != "ingest" || a["disabled"] != false || a["name"] != "ship" {
		t.Fatalf("create ingest: %d %v", code, doc)
	}
	if env := data(doc)["relationships"].(map[string]any)["environment"].(map[string]any)["data"].(map[string]any); env["id"] != "test" || env["type"] != "environments" {
		t.Fatalf("relationship %v", env)
	}
	if p, err := s.reg.Authenticate(ctx, id+secret); err != nil || p.Env != "test" || !p.Can(auth.PermEvents) {
		t.Fatalf("the created key: %+v %v", p, err)
	}

	code, doc = s.do("POST", "/api-keys", `{"data":{"type":"api-keys","attributes":{"key_type":"ingest","permissions":{"create_datasets":false}},
		"relationships":{"environment":{"data":{"id":"test","type":"environments"}}}}}`)
	if perms, _ := attrs(doc)["permissions"].(map[string]any); code != 201 || perms["create_datasets"] != false {
		t.Fatalf("create an ingest key without create_datasets: %d %v", code, doc)
	}
	limited := data(doc)["id"].(string) + attrs(doc)["secret"].(string)
	if p, err := s.reg.Authenticate(ctx, limited); err != nil || p.Can(auth.PermCreateDatasets) {
		t.Fatalf("the key without create_datasets: %+v %v", p, err)
	}

	code, doc = s.do("POST", "/api-keys", `{"data":{"type":"api-keys","attributes":{"name":"cfg","key_type":"configuration","permissions":{"markers":true,"queries":false,"create_datasets":true}},
		"relationships":{"environment":{"data":{"id":"test","type":"environments"}}}}}`)
	cfgID, _ := data(doc)["id"].(string)
	token, _ := attrs(doc)["secret"].(string)
	if perms, _ := attrs(doc)["permissions"].(map[string]any); code != 201 || perms["markers"] != true || perms["queries"] != false || perms["create_datasets"] != true {
		t.Fatalf("create configuration: %d %v", code, doc)
	}
	if p, err := s.reg.Authenticate(ctx, token); err != nil || !p.Can(auth.PermMarkers) || p.Can(auth.PermQueries) || p.KeyID != cfgID {
		t.Fatalf("the created configuration key: %+v %v", p, err)
	}

	for _, c := range []struct{ what, body, pointer string }{
		{"management kind", `{"data":{"type":"api-keys","attributes":{"key_type":"management"},"relationships":{"environment":{"data":{"id":"test","type":"environments"}}}}}`, "/data/attributes/key_type"},
		{"no environment", `{"data":{"type":"api-keys","attributes":{"key_type":"ingest"}}}`, "/data/relationships/environment"},
		{"unknown environment", `{"data":{"type":"api-keys","attributes":{"key_type":"ingest"},"relationships":{"environment":{"data":{"id":"nope","type":"environments"}}}}}`, "/data/relationships/environment"},
		{"unknown permission", `{"data":{"type":"api-keys","attributes":{"key_type":"configuration","permissions":{"fly":true}},"relationships":{"environment":{"data":{"id":"test","type":"environments"}}}}}`, "/data/attributes/permissions"},
	} {
		code, doc := s.do("POST", "/api-keys", c.body)
		wantError(t, c.what, code, doc, 422, c.pointer)
	}

	// The list holds the environments' keys (the two bootstrap keys too),
	// never a secret, and not the management key.
	code, doc = s.do("GET", "/api-keys", "")
	list, _ := doc["data"].([]any)
	if code != 200 || len(list) != 5 {
		t.Fatalf("list: %d %v", code, doc)
	}
	for _, item := range list {
		k := item.(map[string]any)
		if _, has := k["attributes"].(map[string]any)["secret"]; has || strings.HasPrefix(k["id"].(string), "hcamk_") {
			t.Errorf("listed %v", k)
		}
	}
	code, doc = s.do("GET", "/api-keys?filter[type]=ingest", "")
	if list, _ := doc["data"].([]any); code != 200 || len(list) != 3 {
		t.Fatalf("filter[type]=ingest: %d %v", code, doc)
	}
	code, doc = s.do("GET", "/api-keys?filter[type]=configuration", "")
	if list, _ := doc["data"].([]any); code != 200 || len(list) != 2 {
		t.Fatalf("filter[type]=configuration: %d %v", code, doc)
	}
	code, doc = s.do("GET", "/api-keys?filter[type]=management", "")
	wantError(t, "filter management", code, doc, 400, "")

	if code, doc = s.do("GET", "/api-keys/"+id, ""); code != 200 || attrs(doc)["name"] != "ship" || attrs(doc)["secret"] != nil {
		t.Fatalf("get: %d %v", code, doc)
	}
	code, doc = s.do("PATCH", "/api-keys/"+id, `{"data":{"id":"`+id+`","type":"api-keys","attributes":{"name":"renamed","disabled":true}}}`)
	if code != 200 || attrs(doc)["name"] != "renamed" || attrs(doc)["disabled"] != true {
		t.Fatalf("patch: %d %v", code, doc)
	}
	if _, err := s.reg.Authenticate(ctx, id+secret); err == nil {
		t.Fatal("a disabled key authenticates")
	}
	code, doc = s.do("PATCH", "/api-keys/"+id, `{"data":{"id":"`+id+`","type":"api-keys","attributes":{"permissions":{"markers":true}}}}`)
	wantError(t, "ingest permissions", code, doc, 422, "/data/attributes/permissions")
	if code, doc = s.do("PATCH", "/api-keys/"+cfgID, `{"data":{"id":"`+cfgID+`","type":"api-keys","attributes":{"permissions":{"queries":true}}}}`); code != 200 {
		t.Fatalf("patch permissions: %d %v", code, doc)
	}
	if p, err := s.reg.Authenticate(ctx, token); err != nil || p.Can(auth.PermMarkers) || !p.Can(auth.PermQueries) {
		t.Fatalf("after the permissions changed: %+v %v", p, err)
	}

	if code, _ = s.do("DELETE", "/api-keys/"+cfgID, ""); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	if _, err := s.reg.Authenticate(ctx, token); err == nil {
		t.Fatal("a deleted key authenticates")
	}
	code, doc = s.do("GET", "/api-keys/"+cfgID, "")
	wantError(t, "get deleted", code, doc, 404, "")
}

// TestV2TeamAndKeys: another team's path is 404; keys other than
// management keys are refused.
func TestV2TeamAndKeys(t *testing.T) {
	s := newV2Server(t)
	s.base = strings.Replace(s.base, "/tracecomb", "/other", 1)
	code, doc := s.do("GET", "/environments", "")
	wantError(t, "other team", code, doc, 404, "")

	s = newV2Server(t)
	_, ingest, _ := s.reg.CreateKey(auth.KeySpec{Env: "test", Kind: auth.KindIngest})
	s.mgmt = ingest
	code, doc = s.do("GET", "/api-keys", "")
	wantError(t, "ingest key", code, doc, 401, "")
}
