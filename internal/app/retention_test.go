package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"
)

// retentionApp starts tracecomb on dataDir with the retention flags and
// the UI door on uiAddr; stop shuts it down (once).
func retentionApp(t *testing.T, dataDir, uiAddr string) (a *App, stop func()) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = dataDir
	cfg.BootstrapKey = "test-bootstrap-key-0123456789"
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "", uiAddr
	cfg.MetricsPublic = true
	cfg.RetentionAge, cfg.RetentionSize = 72*time.Hour, 2<<30
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := false
	stop = func() {
		if done {
			return
		}
		done = true
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}
	t.Cleanup(stop)
	return a, stop
}

// uiClient calls the UI door's API as the web app does (the X-Tracecomb-UI
// header, a cookie jar for the session).
type uiClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newUIClient(t *testing.T, addr string) *uiClient {
	jar, _ := cookiejar.New(nil)
	_, port, _ := net.SplitHostPort(addr)
	return &uiClient{t: t, base: "http://127.0.0.1:" + port, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

func (u *uiClient) do(method, path, body string) (int, map[string]any) {
	u.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u.base+path, rd)
	req.Header.Set("X-Tracecomb-UI", "1")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := u.c.Do(req)
	if err != nil {
		u.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

const retentionURL = "/ui-api/settings/environments/test/retention"

// TestEnvironmentRetentionThroughTheUI: an environment's retention set on
// the UI door is what the store enforces (at once: an event older than the
// new age is deleted without waiting for the minute), survives a restart,
// and takes precedence over the flags, which stay the default of the other
// environments; reading needs a session in login mode, changing it needs
// key-management rights (403 without), and bad values get 400.
func TestEnvironmentRetentionThroughTheUI(t *testing.T) {
	dir := t.TempDir()
	a, stop := retentionApp(t, dir, "127.0.0.1:0")
	key := a.cfg.BootstrapKey
	// Two events of environment "test": one two hours old, one now.
	now := time.Now().UTC()
	batch := `[{"time":"` + now.Add(-2*time.Hour).Format(time.RFC3339Nano) + `","data":{"n":1}},{"time":"` + now.Format(time.RFC3339Nano) + `","data":{"n":2}}]`
	req, _ := http.NewRequest("POST", "http://"+a.Addrs().HTTP+"/1/batch/retention-test", strings.NewReader(batch))
	req.Header.Set("X-Honeycomb-Team", key)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("send events: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	u := newUIClient(t, a.Addrs().UI)
	status, m := u.do("GET", retentionURL, "")
	if status != 200 || m["source"] != "default" || m["max_age"] != "72h" || m["max_bytes"] != float64(2<<30) {
		t.Fatalf("the flags' retention: %d %v", status, m)
	}
	// The open loopback UI reads without a login but changes nothing.
	if status, m := u.do("PUT", retentionURL, `{"max_age":"1h","max_bytes":"64MiB"}`); status != 403 {
		t.Fatalf("PUT without a session: %d %v", status, m)
	}
	if status, _ := u.do("POST", "/ui-api/login", `{"key":"`+key+`"}`); status != 204 {
		t.Fatalf("login: %d", status)
	}
	if status, m := u.do("PUT", retentionURL, `{"max_age":"an hour","max_bytes":"64MiB"}`); status != 400 || !strings.Contains(m["error"].(string), `max_age: "an hour" is not a duration`) {
		t.Fatalf("bad max_age: %d %v", status, m)
	}
	status, m = u.do("PUT", retentionURL, `{"max_age":"1h","max_bytes":"64MiB"}`)
	if status != 200 || m["source"] != "environment" || m["max_age"] != "1h" || m["max_bytes"] != float64(64<<20) {
		t.Fatalf("PUT: %d %v", status, m)
	}
	if r, err := a.Store().Retention(context.Background(), "test"); err != nil || r.MaxAge != time.Hour || r.MaxBytes != 64<<20 {
		t.Fatalf("the store's retention of test: %+v, %v", r, err)
	}
	// Enforced at once: the two-hour-old event goes within seconds.
	// The answer to the PUT may be measured while that pass runs (events
	// deleted, the pass not yet over): wait for the pass's end.
	deadline := time.Now().Add(30 * time.Second)
	for (m["deleted_events"] != float64(1) || m["last_enforced_at"] == nil) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		_, m = u.do("GET", retentionURL, "")
	}
	if m["deleted_events"] != float64(1) || m["last_enforced_at"] == nil || m["oldest"] == nil {
		t.Fatalf("not enforced within 30 s of the PUT: %v", m)
	}
	if oldest, _ := time.Parse(time.RFC3339Nano, m["oldest"].(string)); oldest.Sub(now).Abs() > time.Second {
		t.Errorf("oldest kept event %v, want the recent one (%v)", oldest, now)
	}
	stop()

	// After a restart, on a non-loopback bind (login mode): the setting is
	// still there, and reading it takes a session.
	a, _ = retentionApp(t, dir, "0.0.0.0:0")
	u = newUIClient(t, a.Addrs().UI)
	if status, _ := u.do("GET", retentionURL, ""); status != 401 {
		t.Fatalf("GET without a session in login mode: %d", status)
	}
	if status, _ := u.do("PUT", retentionURL, `{"max_age":"2h","max_bytes":0}`); status != 401 {
		t.Fatalf("PUT without a session in login mode: %d", status)
	}
	if status, _ := u.do("POST", "/ui-api/login", `{"key":"`+key+`"}`); status != 204 {
		t.Fatalf("login: %d", status)
	}
	status, m = u.do("GET", retentionURL, "")
	if status != 200 || m["source"] != "environment" || m["max_age"] != "1h" || m["max_bytes"] != float64(64<<20) {
		t.Fatalf("after a restart: %d %v", status, m)
	}
	if d := m["default"].(map[string]any); d["max_age"] != "72h" {
		t.Errorf("the default after a restart: %v", d)
	}
	if r, _ := a.Store().Retention(context.Background(), "other"); r.MaxAge != 72*time.Hour || r.MaxBytes != 2<<30 {
		t.Errorf("an environment without its own setting: %+v, want the flags'", r)
	}
	resp, err := http.Get("http://" + a.Addrs().HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(body, []byte(`tracecomb_store_retention_max_age_seconds{env="test"} 3600`)) {
		t.Errorf("/metrics lacks test's max age:\n%s", body)
	}
	// DELETE returns the environment to the flags.
	status, m = u.do("DELETE", retentionURL, "")
	if status != 200 || m["source"] != "default" || m["max_age"] != "72h" {
		t.Fatalf("DELETE: %d %v", status, m)
	}
}

// TestRetentionCompactMaxLiveFlag: the compaction cap is a flag (and an
// environment variable) with sizes in units, 128 MiB by default.
func TestRetentionCompactMaxLiveFlag(t *testing.T) {
	if c := DefaultConfig(); c.RetentionCompactMaxLive != 128<<20 {
		t.Errorf("default %d", c.RetentionCompactMaxLive)
	}
	for _, tc := range []struct {
		args []string
		env  string
		want int64
		err  string
	}{
		{args: []string{"-retention-compact-max-live", "1GiB"}, want: 1 << 30},
		{env: "512MB", want: 512e6},
		{args: []string{"-retention-compact-max-live", "0"}, err: "--retention-compact-max-live must be positive"},
	} {
		env := map[string]string{}
		if tc.env != "" {
			env["TRACECOMB_RETENTION_COMPACT_MAX_LIVE"] = tc.env
		}
		c, err := serveConfig(t, tc.args, env)
		if !configOK(t, err, tc.err) {
			continue
		}
		if c.RetentionCompactMaxLive != tc.want {
			t.Errorf("%v %s: %d, %v; want %d", tc.args, tc.env, c.RetentionCompactMaxLive, err, tc.want)
		}
	}
}
