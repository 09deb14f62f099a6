package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRetentionFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		age  time.Duration
		size int64
		err  string
	}{
		{},
		{args: []string{"-retention-age", "168h", "-retention-size", "10GiB"}, age: 168 * time.Hour, size: 10 << 30},
		{env: map[string]string{"TRACECOMB_RETENTION_AGE": "10m", "TRACECOMB_RETENTION_SIZE": "500MB"}, age: 10 * time.Minute, size: 500_000_000},
		{args: []string{"-retention-age", "-1h"}, err: "--retention-age"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			c, err := serveConfig(t, tc.args, tc.env)
			if !configOK(t, err, tc.err) {
				return
			}
			if c.RetentionAge != tc.age || c.RetentionSize != tc.size {
				t.Errorf("retention %v, %d bytes; want %v, %d", c.RetentionAge, c.RetentionSize, tc.age, tc.size)
			}
		})
	}
}

// TestStoreRetentionAndMetrics: the retention flags reach the store, and
// /metrics serves the store's own metrics.
func TestStoreRetentionAndMetrics(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.BootstrapKey = "test-bootstrap-key-0123456789"
	cfg.HTTPAddr, cfg.OTLPGRPCAddr, cfg.XRayAddr, cfg.UIAddr = "127.0.0.1:0", "", "", ""
	cfg.MetricsPublic = true
	cfg.RetentionAge, cfg.RetentionSize = 72*time.Hour, 2<<30
	a, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	r, err := a.Store().Retention(context.Background(), "test")
	if err != nil || r.MaxAge != 72*time.Hour || r.MaxBytes != 2<<30 {
		t.Errorf("the store's retention: %+v, %v", r, err)
	}
	resp, err := http.Get("http://" + a.Addrs().HTTP + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"tracecomb_store_disk_bytes ", "tracecomb_store_writable 1", "tracecomb_store_compactions_total 0"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
