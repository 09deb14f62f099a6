package ui

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tracecomb/tracecomb/internal/auth"
	"github.com/tracecomb/tracecomb/internal/store"
)

// fakeRetention keeps settings in memory, over a default, as the store
// does (the real store's round trip, restart included, is tested in
// internal/app).
type fakeRetention struct {
	mu  sync.Mutex
	def store.Retention
	own map[string]store.Retention
}

func (f *fakeRetention) RetentionStatus(_ context.Context, env string) (RetentionStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := RetentionStatus{InForce: f.def, Default: f.def, Bytes: 1 << 20, Oldest: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		LastEnforced: time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC), Interval: time.Minute}
	if r, ok := f.own[env]; ok {
		st.InForce, st.Own = r, true
	}
	return st, nil
}

func (f *fakeRetention) SetRetention(_ context.Context, env string, r *store.Retention) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r == nil {
		delete(f.own, env)
	} else {
		f.own[env] = *r
	}
	return nil
}

func newRetentionFixture(t *testing.T, open bool) (*fixture, *fakeRetention) {
	t.Helper()
	f := newFixture(t, open)
	ret := &fakeRetention{def: store.Retention{MaxAge: 168 * time.Hour, MaxBytes: 10 << 30}, own: map[string]store.Retention{}}
	f.h = New(Config{Open: open, Assets: fstest.MapFS{"index.html": {Data: []byte("<!doctype html>")}}},
		Deps{API: http.NotFoundHandler(), Registry: f.reg, Retention: ret})
	return f, ret
}

const retPath = "/ui-api/settings/environments/test/retention"

// TestRetentionSetAndRead: a session with key-management rights sets an
// environment's retention (units: 7d, 256MiB), reads it back as the
// environment's own, and DELETE returns it to the default; the list shows
// every environment with its source.
func TestRetentionSetAndRead(t *testing.T) {
	f, ret := newRetentionFixture(t, true)
	ck := f.login(t)
	m := decode(t, f.do(t, call{method: "GET", path: retPath}))
	if m["source"] != "default" || m["max_age"] != "168h" || m["max_bytes"] != float64(10<<30) || m["last_enforced_at"] != "2026-01-02T04:00:00Z" {
		t.Fatalf("default retention: %v", m)
	}
	w := f.do(t, call{method: "PUT", path: retPath, cookie: ck, body: `{"max_age":"7d","max_bytes":"256MiB"}`})
	if w.Code != 200 {
		t.Fatalf("PUT: %d %s", w.Code, w.Body)
	}
	m = decode(t, w)
	if m["source"] != "environment" || m["max_age"] != "168h" || m["max_age_seconds"] != float64(7*86400) || m["max_bytes"] != float64(256<<20) {
		t.Fatalf("after PUT: %v", m)
	}
	if got := ret.own["test"]; got != (store.Retention{MaxAge: 7 * 24 * time.Hour, MaxBytes: 256 << 20}) {
		t.Fatalf("stored %+v", got)
	}
	for _, tc := range []struct {
		body string
		want store.Retention
	}{
		{`{"max_age":"90m","max_bytes":0}`, store.Retention{MaxAge: 90 * time.Minute}},
		{`{"max_age":0,"max_bytes":1073741824}`, store.Retention{MaxBytes: 1 << 30}},
		{`{"max_age":"0","max_bytes":"10GB"}`, store.Retention{MaxBytes: 10e9}},
		{`{"max_age":"1h30m","max_bytes":"0"}`, store.Retention{MaxAge: 90 * time.Minute}},
		{`{"max_age":"10m","max_bytes":"16 MiB"}`, store.Retention{MaxAge: 10 * time.Minute, MaxBytes: 16 << 20}},
		{`{"max_age":" 2d ","max_bytes":"512mib"}`, store.Retention{MaxAge: 48 * time.Hour, MaxBytes: 512 << 20}},
	} {
		if w := f.do(t, call{method: "PUT", path: retPath, cookie: ck, body: tc.body}); w.Code != 200 || ret.own["test"] != tc.want {
			t.Errorf("PUT %s: %d %s; stored %+v, want %+v", tc.body, w.Code, w.Body, ret.own["test"], tc.want)
		}
	}
	if m := decode(t, f.do(t, call{method: "GET", path: retPath})); m["max_age"] != "48h" || m["source"] != "environment" {
		t.Errorf("read back: %v", m)
	}
	m = decode(t, f.do(t, call{method: "GET", path: "/ui-api/settings/retention", cookie: ck}))
	envs := m["environments"].([]any)
	if m["can_edit"] != true || len(envs) != 2 {
		t.Fatalf("list: %v", m)
	}
	for _, e := range envs {
		e := e.(map[string]any)
		if want := map[string]string{"test": "environment", "prod": "default"}[e["env"].(string)]; e["source"] != want {
			t.Errorf("%v: source %v, want %s", e["env"], e["source"], want)
		}
	}
	w = f.do(t, call{method: "DELETE", path: retPath, cookie: ck})
	if m := decode(t, w); w.Code != 200 || m["source"] != "default" || m["max_age"] != "168h" {
		t.Fatalf("DELETE: %d %v", w.Code, m)
	}
	if _, ok := ret.own["test"]; ok {
		t.Error("DELETE left the environment's own setting")
	}
	if w := f.do(t, call{method: "PUT", path: "/ui-api/settings/environments/nope/retention", cookie: ck, body: `{"max_age":"1h","max_bytes":0}`}); w.Code != 404 {
		t.Errorf("unknown environment: %d %s", w.Code, w.Body)
	}
}

// TestRetentionBadValues: each bad body gets 400 with a message saying
// what is wrong, and nothing is stored.
func TestRetentionBadValues(t *testing.T) {
	f, ret := newRetentionFixture(t, true)
	ck := f.login(t)
	for _, tc := range []struct{ body, msg string }{
		{`{"max_bytes":0}`, `max_age: required`},
		{`{"max_age":"1h"}`, `max_bytes: required`},
		{`{"max_age":"a week","max_bytes":0}`, `max_age: "a week" is not a duration`},
		{`{"max_age":"-1h","max_bytes":0}`, `max_age: "-1h" is negative`},
		{`{"max_age":"30s","max_bytes":0}`, `shorter than 1m0s`},
		{`{"max_age":3600,"max_bytes":0}`, `max_age: 3600 is not a duration`},
		{`{"max_age":"1h","max_bytes":"lots"}`, `max_bytes: "lots" is not a number of bytes`},
		{`{"max_age":"1h","max_bytes":-5}`, `max_bytes: -5 is negative`},
		{`{"max_age":"1h","max_bytes":1.5}`, `max_bytes: 1.5 is not a number of bytes`},
		{`{"max_age":"1h","max_bytes":"1MiB"}`, `less than the smallest size limit, 16MiB`},
		{`{"max_age":"1h","max_bytes":0,"extra":1}`, `unknown field "extra"`},
		{`not json`, `invalid JSON body`},
	} {
		w := f.do(t, call{method: "PUT", path: retPath, cookie: ck, body: tc.body})
		if msg, _ := decode(t, w)["error"].(string); w.Code != 400 || !strings.Contains(msg, tc.msg) {
			t.Errorf("PUT %s: %d %q; want 400 saying %q", tc.body, w.Code, msg, tc.msg)
		}
	}
	if len(ret.own) != 0 {
		t.Errorf("a bad request stored %+v", ret.own)
	}
}

// TestRetentionNeedsKeyManagement: changing retention takes what key
// management takes. Open mode without a login reads but gets 403 on
// PUT/DELETE, as does a key without every permission; login mode without a
// session gets 401, and a session sees and changes its own environment
// only.
func TestRetentionNeedsKeyManagement(t *testing.T) {
	body := `{"max_age":"1h","max_bytes":0}`
	t.Run("open", func(t *testing.T) {
		f, ret := newRetentionFixture(t, true)
		if w := f.do(t, call{method: "GET", path: retPath}); w.Code != 200 {
			t.Errorf("GET without a login: %d %s", w.Code, w.Body)
		}
		if m := decode(t, f.do(t, call{method: "GET", path: "/ui-api/settings/retention"})); m["can_edit"] != false {
			t.Errorf("list without a login: %v", m)
		}
		for _, method := range []string{"PUT", "DELETE"} {
			if w := f.do(t, call{method: method, path: retPath, body: body}); w.Code != 403 || !strings.Contains(w.Body.String(), "every permission") {
				t.Errorf("%s without a login: %d %s", method, w.Code, w.Body)
			}
		}
		_, limited, err := f.reg.CreateKey(auth.KeySpec{Env: "test", Kind: auth.KindConfiguration, Access: []auth.Permission{auth.PermQueries}})
		if err != nil {
			t.Fatal(err)
		}
		w := f.do(t, call{method: "POST", path: "/ui-api/login", body: `{"key":"` + limited + `"}`})
		lck := w.Result().Cookies()[0]
		if w := f.do(t, call{method: "PUT", path: retPath, body: body, cookie: lck}); w.Code != 403 {
			t.Errorf("PUT with a queries-only key: %d %s", w.Code, w.Body)
		}
		if len(ret.own) != 0 {
			t.Errorf("stored %+v", ret.own)
		}
	})
	t.Run("login", func(t *testing.T) {
		f, ret := newRetentionFixture(t, false)
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			if w := f.do(t, call{method: method, path: retPath, body: body}); w.Code != 401 {
				t.Errorf("%s without a session: %d %s", method, w.Code, w.Body)
			}
		}
		if w := f.do(t, call{method: "GET", path: "/ui-api/settings/retention"}); w.Code != 401 {
			t.Errorf("list without a session: %d", w.Code)
		}
		ck := f.login(t)
		if w := f.do(t, call{method: "PUT", path: retPath, body: body, cookie: ck}); w.Code != 200 || ret.own["test"].MaxAge != time.Hour {
			t.Errorf("PUT with a session: %d %s", w.Code, w.Body)
		}
		other := "/ui-api/settings/environments/prod/retention"
		for _, method := range []string{"GET", "PUT"} {
			if w := f.do(t, call{method: method, path: other, body: body, cookie: ck}); w.Code != 404 {
				t.Errorf("%s of another environment: %d %s", method, w.Code, w.Body)
			}
		}
		if m := decode(t, f.do(t, call{method: "GET", path: "/ui-api/settings/retention", cookie: ck})); len(m["environments"].([]any)) != 1 {
			t.Errorf("the session lists %v", m["environments"])
		}
	})
}

func TestFormatAge(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0", time.Hour: "1h", 168 * time.Hour: "168h", 90 * time.Minute: "1h30m",
		10 * time.Minute: "10m", 90 * time.Second: "1m30s", time.Hour + time.Second: "1h0m1s"} {
		if got := formatAge(d); got != want {
			t.Errorf("formatAge(%v) = %q, want %q", d, got, want)
		}
	}
}
