package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
)

// startOnce runs New and Start with cfg and stops the app again; it returns
// Start's error and what was printed.
func startOnce(t *testing.T, cfg Config) (string, error) {
	t.Helper()
	var out bytes.Buffer
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), &out)
	if err != nil {
		t.Fatal(err)
	}
	startErr := a.Start(context.Background())
	if err := a.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	return out.String(), startErr
}

// TestBanner: the banner (with the one-time key) comes only once every door
// listens, so a start that cannot bind loses no key; a bind error names the
// flag that moves the door; later starts show how to find a key.
func TestBanner(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.AWSRegion = "us-west-1"

	for _, c := range []struct {
		name string
		set  func(*Config)
		flag string
	}{
		{"ui", func(c *Config) { c.UIAddr = busy.Addr().String() }, "--ui-addr"},
		{"http", func(c *Config) { c.HTTPAddr, c.UIAddr = busy.Addr().String(), "127.0.0.1:0" }, "--http-addr"},
		{"xray", func(c *Config) { c.HTTPAddr, c.XRayAddr = "127.0.0.1:0", busy.Addr().String() }, "--xray-addr"},
	} {
		bad := cfg
		c.set(&bad)
		out, err := startOnce(t, bad)
		if err == nil || !strings.Contains(err.Error(), c.flag) || !strings.Contains(err.Error(), busy.Addr().String()) {
			t.Errorf("%s busy: Start error %v, want one naming %s and the address", c.name, err, c.flag)
		}
		if out != "" {
			t.Errorf("%s busy: printed before every door listened:\n%s", c.name, out)
		}
	}

	cfg.UIAddr = "127.0.0.1:0"
	out, err := startOnce(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	key, config := "", ""
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "ingest" && f[1] == "key" {
			key = f[2]
		}
		if len(f) >= 3 && f[0] == "configuration" && f[1] == "key" {
			config = f[2]
		}
	}
	if !strings.HasPrefix(key, "hcaik_") || len(config) != 22 {
		t.Fatalf("the first good start shows no new ingest and configuration keys:\n%s", out)
	}
	for _, want := range []string{
		"Web UI          http://127.0.0.1:",
		"OTEL_EXPORTER_OTLP_HEADERS=x-honeycomb-team=" + key,
		"AWS_XRAY_DAEMON_ADDRESS=127.0.0.1:",
		"--endpoint-url http://127.0.0.1:",
		"--no-sign-request --region us-west-1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("banner lacks %q:\n%s", want, out)
		}
	}

	out, err = startOnce(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, key) || strings.Contains(out, config) || !strings.Contains(out, "tracecomb keys list") {
		t.Errorf("a later start shows the key again or not how to find one:\n%s", out)
	}
}

// TestUnknownPath: a path no API serves gets a 404 that says what is
// served (and how the usual OTLP endpoint mistake is fixed), and a line in
// the server's log; a known path with another method still gets 405.
func TestUnknownPath(t *testing.T) {
	var logs syncBuffer
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "", ""
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer a.Shutdown(context.Background()) //nolint:errcheck
	base := "http://" + a.Addrs().HTTP
	for _, c := range []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/v1/trace", 404, `unknown path /v1/trace: OTLP/HTTP traces go to /v1/traces`},
		{"POST", "/api/v1/traces", 404, `OTEL_EXPORTER_OTLP_ENDPOINT is the base URL`},
		{"POST", "/v1/traces/v1/traces", 404, `OTEL_EXPORTER_OTLP_ENDPOINT is the base URL`},
		{"GET", "/v1/traces", 405, ``},
	} {
		req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.body) {
			t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, resp.StatusCode, body, c.status, c.body)
		}
	}
	if out := logs.String(); !strings.Contains(out, "path=/v1/trace ") || !strings.Contains(out, "remote=127.0.0.1:") {
		t.Errorf("the unknown path is not logged with its remote address:\n%s", out)
	}
}
