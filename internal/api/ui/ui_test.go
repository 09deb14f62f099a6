package ui

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/api/honeycomb"
	"github.com/tracecomb/tracecomb/internal/auth"
)

type envCtxKey struct{}

type fixture struct {
	reg *auth.Registry
	key string // bootstrap key of env "test"
	h   http.Handler
}

func newFixture(t *testing.T, open bool) *fixture {
	t.Helper()
	reg, err := auth.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := reg.Bootstrap("")
	if err != nil {
		t.Fatal(err)
	}
	key := keys[1].Secret // the configuration key: a UI login reads and manages keys
	if _, _, err := reg.CreateKey(auth.KeySpec{Env: "prod", Name: "prod key", Kind: auth.KindConfiguration}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	honeycomb.Register(mux, honeycomb.Deps{Auth: reg})
	xrayH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, _ := r.Context().Value(envCtxKey{}).(string)
		b, _ := io.ReadAll(r.Body)
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "env": env, "body": string(b), "auth": r.Header.Get("Authorization")}) //nolint:errcheck
	})
	assets := fstest.MapFS{
		"index.html":       {Data: []byte("<!doctype html><div id=\"root\"></div>")},
		"assets/app-1.js":  {Data: []byte("console.log(1)")},
		"favicon.svg":      {Data: []byte("<svg/>")},
		"assets/sub/x.css": {Data: []byte("body{}")},
	}
	h := New(Config{Open: open, Assets: assets, OTLPHTTPEndpoint: "http://127.0.0.1:4318"}, Deps{
		API: mux, XRay: xrayH, Registry: reg,
		XRayEnv: func(ctx context.Context, env string) context.Context { return context.WithValue(ctx, envCtxKey{}, env) },
	})
	return &fixture{reg: reg, key: key, h: h}
}

type call struct {
	method, path, body string
	host               string
	headers            map[string]string
	cookie             *http.Cookie
}

func (f *fixture) do(t *testing.T, c call) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	r := httptest.NewRequest(c.method, c.path, body)
	r.Host = "127.0.0.1:8080"
	if c.host != "" {
		r.Host = c.host
	}
	if strings.HasPrefix(c.path, "/ui-api/") {
		r.Header.Set(HeaderUI, "1")
	}
	for k, v := range c.headers {
		if v == "" {
			r.Header.Del(k)
		} else {
			r.Header.Set(k, v)
		}
	}
	if c.cookie != nil {
		r.AddCookie(c.cookie)
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return m
}

func TestAssets(t *testing.T) {
	f := newFixture(t, true)
	tests := []struct {
		name, method, path string
		status             int
		contains           string
		cache              string
	}{
		{"index", "GET", "/", 200, `id="root"`, "no-cache"},
		{"app route falls back to index", "GET", "/trace/abc", 200, `id="root"`, "no-cache"},
		{"query route with params", "GET", "/query?dataset=x", 200, `id="root"`, "no-cache"},
		{"hashed asset is immutable", "GET", "/assets/app-1.js", 200, "console.log", "public, max-age=31536000, immutable"},
		{"top-level file", "GET", "/favicon.svg", 200, "<svg/>", ""},
		{"missing asset is 404, not index", "GET", "/assets/nope.js", 404, "", ""},
		{"directory is not listed", "GET", "/assets/", 200, `id="root"`, "no-cache"},
		{"dot-dot stays inside", "GET", "/../../etc/passwd", 200, `id="root"`, "no-cache"},
		{"POST is refused", "POST", "/", 405, "", ""},
		{"HEAD works", "HEAD", "/", 200, "", "no-cache"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, call{method: tc.method, path: tc.path})
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Fatalf("body %q lacks %q", w.Body, tc.contains)
			}
			if tc.cache != "" && w.Header().Get("Cache-Control") != tc.cache {
				t.Fatalf("Cache-Control %q, want %q", w.Header().Get("Cache-Control"), tc.cache)
			}
		})
	}
}

func TestPlaceholderWhenNotBuilt(t *testing.T) {
	reg, err := auth.Open(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{Open: true}, Deps{API: http.NotFoundHandler(), Registry: reg})
	r := httptest.NewRequest("GET", "/", nil)
	r.Host = "localhost:8080"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "tracecomb") {
		t.Fatalf("status %d body %q", w.Code, w.Body)
	}
}

func TestOpenMode(t *testing.T) {
	f := newFixture(t, true)
	tests := []struct {
		name     string
		c        call
		status   int
		contains string
	}{
		{"default env", call{method: "GET", path: "/ui-api/hc/1/auth"}, 200, `"slug":"test"`},
		{"named env", call{method: "GET", path: "/ui-api/hc/1/auth", headers: map[string]string{HeaderEnv: "prod"}}, 200, `"slug":"prod"`},
		{"unknown env", call{method: "GET", path: "/ui-api/hc/1/auth", headers: map[string]string{HeaderEnv: "nope"}}, 404, "unknown environment"},
		{"a forged key header is ignored", call{method: "GET", path: "/ui-api/hc/1/auth", headers: map[string]string{"X-Honeycomb-Team": "bogus"}}, 200, `"slug":"test"`},
		{"missing UI header", call{method: "GET", path: "/ui-api/hc/1/auth", headers: map[string]string{HeaderUI: ""}}, 403, HeaderUI},
		{"non-loopback Host", call{method: "GET", path: "/ui-api/hc/1/auth", host: "evil.example:8080"}, 421, "loopback"},
		{"non-loopback Host for assets", call{method: "GET", path: "/", host: "evil.example"}, 421, "loopback"},
		{"localhost Host", call{method: "GET", path: "/ui-api/hc/1/auth", host: "localhost:8080"}, 200, `"slug":"test"`},
		{"IPv6 loopback Host", call{method: "GET", path: "/ui-api/hc/1/auth", host: "[::1]:8080"}, 200, `"slug":"test"`},
		{"unknown API path", call{method: "GET", path: "/ui-api/hc/1/nothing"}, 404, ""},
		{"unknown ui-api path", call{method: "GET", path: "/ui-api/zzz"}, 404, "not found"},
		{"a wrong key's login is refused", call{method: "POST", path: "/ui-api/login", body: `{"key":"x"}`}, 401, "unknown API key"},
		{"x-ray forward carries env", call{method: "POST", path: "/ui-api/xray/GetSamplingRules", body: `{}`, headers: map[string]string{HeaderEnv: "prod", "Authorization": "AWS4 forged"}}, 200, `"env":"prod"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(t, tc.c)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tc.contains) {
				t.Fatalf("body %q lacks %q", w.Body, tc.contains)
			}
		})
	}
	w := f.do(t, call{method: "POST", path: "/ui-api/xray/GetSamplingRules", body: `{"a":1}`, headers: map[string]string{"Authorization": "AWS4 forged"}})
	m := decode(t, w)
	if m["path"] != "/GetSamplingRules" || m["body"] != `{"a":1}` || m["auth"] != "" || m["env"] != "test" {
		t.Fatalf("x-ray forward = %v", m)
	}
}

func TestSession(t *testing.T) {
	f := newFixture(t, true)
	m := decode(t, f.do(t, call{method: "GET", path: "/ui-api/session"}))
	if m["mode"] != "open" || m["logged_in"] != true || m["xray"] != true {
		t.Fatalf("session = %v", m)
	}
	if envs := m["environments"].([]any); len(envs) != 2 {
		t.Fatalf("environments = %v", envs)
	}
	if ep := m["endpoints"].(map[string]any); ep["otlp_http"] != "http://127.0.0.1:4318" {
		t.Fatalf("endpoints = %v", ep)
	}

	g := newFixture(t, false)
	m = decode(t, g.do(t, call{method: "GET", path: "/ui-api/session"}))
	if m["mode"] != "login" || m["logged_in"] != false || m["endpoints"].(map[string]any)["otlp_http"] != "" {
		t.Fatalf("logged-out session = %v", m)
	}
}

func TestLoginMode(t *testing.T) {
	f := newFixture(t, false)
	// Not logged in: every authenticated endpoint says so.
	for _, p := range []string{"/ui-api/hc/1/auth", "/ui-api/settings"} {
		if w := f.do(t, call{method: "GET", path: p}); w.Code != 401 {
			t.Fatalf("%s: status %d", p, w.Code)
		}
	}
	// Any Host is fine when not open.
	if w := f.do(t, call{method: "GET", path: "/", host: "tracecomb.example"}); w.Code != 200 {
		t.Fatalf("asset on public host: %d", w.Code)
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":"wrong"}`}); w.Code != 401 || !strings.Contains(w.Body.String(), "unknown API key") {
		t.Fatalf("bad login: %d %s", w.Code, w.Body)
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":`}); w.Code != 400 {
		t.Fatalf("malformed login: %d %s", w.Code, w.Body)
	}
	w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":"` + f.key + `"}`})
	if w.Code != 204 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	cks := w.Result().Cookies()
	if len(cks) != 1 || !cks[0].HttpOnly || cks[0].SameSite != http.SameSiteStrictMode || cks[0].Path != "/" {
		t.Fatalf("cookie = %+v", cks)
	}
	if cks[0].Value == f.key || strings.Contains(cks[0].Value, f.key) || len(cks[0].Value) < 40 {
		t.Fatalf("the cookie %q must be a random session token, not the key", cks[0].Value)
	}
	ck := &http.Cookie{Name: CookieName, Value: cks[0].Value}

	w = f.do(t, call{method: "GET", path: "/ui-api/hc/1/auth", cookie: ck, headers: map[string]string{HeaderEnv: "prod"}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"slug":"test"`) {
		t.Fatalf("auth via cookie (env header ignored): %d %s", w.Code, w.Body)
	}
	// The session sees only its own environment's keys.
	m := decode(t, f.do(t, call{method: "GET", path: "/ui-api/settings", cookie: ck}))
	keys := m["keys"].([]any)
	current := 0
	for _, k := range keys {
		km := k.(map[string]any)
		if km["env"] != "test" {
			t.Errorf("the session sees a key of %v", km["env"])
		}
		if km["current"] == true {
			current++
			if km["kind"] != "configuration" {
				t.Errorf("the session's key is listed as %v", km["kind"])
			}
		}
	}
	if len(keys) != 2 || current != 1 || len(m["environments"].([]any)) != 1 {
		t.Fatalf("settings = %v", m)
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys", cookie: ck, body: `{"env":"prod","name":"x"}`}); w.Code != 403 {
		t.Fatalf("create in other env: %d %s", w.Code, w.Body)
	}
	var prodID string
	for _, k := range f.reg.Keys() {
		if k.Env == "prod" {
			prodID = k.ID
		}
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys/" + prodID + "/revoke", cookie: ck}); w.Code != 404 {
		t.Fatalf("revoke in other env: %d %s", w.Code, w.Body)
	}
	// Revoking the session's own key ends the session at once.
	ownID := keys[0].(map[string]any)["id"].(string)
	for _, k := range keys {
		if k.(map[string]any)["current"] == true {
			ownID = k.(map[string]any)["id"].(string)
		}
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys/" + ownID + "/revoke", cookie: ck}); w.Code != 204 {
		t.Fatalf("revoke own key: %d %s", w.Code, w.Body)
	}
	if w := f.do(t, call{method: "GET", path: "/ui-api/hc/1/auth", cookie: ck}); w.Code != 401 || !strings.Contains(w.Body.String(), "disabled") {
		t.Fatalf("after revoke: %d %s", w.Code, w.Body)
	}
	w = f.do(t, call{method: "POST", path: "/ui-api/logout"})
	if c := w.Result().Cookies(); w.Code != 204 || len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %v", w.Code, c)
	}
}

// login logs the fixture's configuration key in and returns the session
// cookie.
func (f *fixture) login(t *testing.T) *http.Cookie {
	t.Helper()
	w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":"` + f.key + `"}`})
	if w.Code != 204 || len(w.Result().Cookies()) != 1 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	return w.Result().Cookies()[0]
}

func TestKeys(t *testing.T) {
	f := newFixture(t, true)
	ck := f.login(t)
	w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys", body: `{"env":"staging","name":"ci"}`, cookie: ck})
	if w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	m := decode(t, w)
	secret := m["secret"].(string)
	id := m["key"].(map[string]any)["id"].(string)
	p, err := f.reg.Authenticate(context.Background(), secret)
	if err != nil || p.Env != "staging" || p.KeyID != id {
		t.Fatalf("new key authenticates as %+v, %v", p, err)
	}
	// The secret is never listed.
	w = f.do(t, call{method: "GET", path: "/ui-api/settings", cookie: ck})
	if strings.Contains(w.Body.String(), secret) || !strings.Contains(w.Body.String(), id) {
		t.Fatalf("settings: %s", w.Body)
	}
	bad := []struct{ name, body string }{
		{"unknown field", `{"env":"x","nme":"y"}`},
		{"bad env name", `{"env":"` + strings.Repeat("x", 300) + `"}`},
		{"long name", `{"name":"` + strings.Repeat("n", 101) + `"}`},
		{"not JSON", `hello`},
	}
	for _, tc := range bad {
		if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys", body: tc.body, cookie: ck}); w.Code != 400 {
			t.Fatalf("%s: %d %s", tc.name, w.Code, w.Body)
		}
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys/nope/revoke", cookie: ck}); w.Code != 404 {
		t.Fatalf("revoke unknown: %d", w.Code)
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys/" + id + "/revoke", cookie: ck}); w.Code != 204 {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if _, err := f.reg.Authenticate(context.Background(), secret); err == nil {
		t.Fatal("revoked key still authenticates")
	}
}

func TestLoopbackHost(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1:80": true, "localhost": true, "LOCALHOST:1": true, "[::1]:9": true, "app.localhost:3": true,
		"127.5.5.5": true, "10.0.0.1:80": false, "example.com": false, "localhost.example.com": false, "": false,
	}
	for in, want := range tests {
		if got := api.LoopbackHost(in); got != want {
			t.Errorf("LoopbackHost(%q) = %v, want %v", in, got, want)
		}
	}
}

func BenchmarkForwardAPI(b *testing.B) {
	reg, err := auth.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := reg.Bootstrap(""); err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	honeycomb.Register(mux, honeycomb.Deps{Auth: reg})
	h := New(Config{Open: true, Assets: fstest.MapFS{"index.html": {Data: []byte("x")}}}, Deps{API: mux, Registry: reg})
	r := httptest.NewRequest("GET", "/ui-api/hc/1/auth", nil)
	r.Host = "127.0.0.1:8080"
	r.Header.Set(HeaderUI, "1")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

func BenchmarkAsset(b *testing.B) {
	reg, err := auth.Open(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	h := New(Config{Open: true, Assets: fstest.MapFS{"index.html": {Data: []byte("x")}, "assets/a.js": {Data: make([]byte, 64<<10)}}}, Deps{Registry: reg})
	r := httptest.NewRequest("GET", "/assets/a.js", nil)
	r.Host = "localhost"
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}

// TestOpenModeKeysNeedALogin: on loopback the UI reads without a key, but
// listing and minting keys takes a login with a full configuration key;
// the session lives on the server, so logout and revoking the key end it
// even for a replayed cookie.
func TestOpenModeKeysNeedALogin(t *testing.T) {
	f := newFixture(t, true)
	m := decode(t, f.do(t, call{method: "GET", path: "/ui-api/settings"}))
	if m["login_required"] != true || m["keys"] != nil {
		t.Fatalf("settings without a login: %v", m)
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys", body: `{"env":"prod","name":"x"}`}); w.Code != 403 {
		t.Fatalf("a key minted without a login: %d %s", w.Code, w.Body)
	}
	ck := f.login(t)
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys", body: `{"env":"prod","name":"x"}`, cookie: ck}); w.Code != 201 {
		t.Fatalf("create after login: %d %s", w.Code, w.Body)
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/logout", cookie: ck}); w.Code != 204 {
		t.Fatalf("logout: %d", w.Code)
	}
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys", body: `{"env":"prod"}`, cookie: ck}); w.Code != 403 {
		t.Fatalf("a replayed cookie after logout: %d %s", w.Code, w.Body)
	}
	// A key with fewer permissions may log in but not manage keys.
	_, limited, err := f.reg.CreateKey(auth.KeySpec{Env: "test", Kind: auth.KindConfiguration, Access: []auth.Permission{auth.PermQueries}})
	if err != nil {
		t.Fatal(err)
	}
	w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":"` + limited + `"}`})
	lck := w.Result().Cookies()[0]
	if w := f.do(t, call{method: "POST", path: "/ui-api/settings/keys", body: `{"env":"prod"}`, cookie: lck}); w.Code != 403 {
		t.Fatalf("a queries-only key mints a key: %d %s", w.Code, w.Body)
	}
}

// TestLoginFailuresLimited: past 20 failed logins a minute from one
// address, logins answer 429 with Retry-After, the right key included.
func TestLoginFailuresLimited(t *testing.T) {
	f := newFixture(t, false)
	for i := range 20 {
		if w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":"guess-` + strconv.Itoa(i) + `"}`}); w.Code != 401 {
			t.Fatalf("guess %d: %d", i, w.Code)
		}
	}
	w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":"` + f.key + `"}`})
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("after 20 failures: %d %s (Retry-After %q)", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}
