package app

import (
	"bytes"
	"context"
	"flag"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestDefaultConfigBindsLoopback: without an address given, every door
// listens on 127.0.0.1 only, and the profiling door is off; the flags'
// defaults are the same.
func TestDefaultConfigBindsLoopback(t *testing.T) {
	for _, env := range []string{"TRACECOMB_HTTP_ADDR", "TRACECOMB_OTLP_GRPC_ADDR", "TRACECOMB_XRAY_ADDR", "TRACECOMB_UI_ADDR", "TRACECOMB_PPROF_ADDR"} {
		if _, set := os.LookupEnv(env); set {
			t.Skipf("%s is set in the environment", env)
		}
	}
	flagged := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	flagged.BindFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	for source, c := range map[string]Config{"DefaultConfig": DefaultConfig(), "serve's flags": flagged} {
		for door, addr := range map[string]string{"API (--http-addr)": c.HTTPAddr, "OTLP/gRPC (--otlp-grpc-addr)": c.OTLPGRPCAddr,
			"X-Ray daemon (--xray-addr)": c.XRayAddr, "UI (--ui-addr)": c.UIAddr} {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || host != "127.0.0.1" {
				t.Errorf("%s: the %s door listens on %q, want 127.0.0.1", source, door, addr)
			}
		}
		if c.PprofAddr != "" {
			t.Errorf("%s: the pprof door (no auth) listens on %q by default, want off", source, c.PprofAddr)
		}
	}
}

// checkPrivate fails for every directory under dir (dir included) not
// 0700 and every file not 0600, and returns how many files it checked.
func checkPrivate(t *testing.T, dir string) int {
	t.Helper()
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		} else {
			files++
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestKeysCLICreatesPrivateFiles: `tracecomb keys` run with the usual
// umask 022 on a new data directory creates it and its files readable by
// their owner only, as the server does.
func TestKeysCLICreatesPrivateFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data")
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("sh", append([]string{"-c", `umask 022 && exec "$0" "$@"`, tracecombBinary(t)}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tracecomb %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := run("keys", "create", "--env", "staging", "--data-dir", dir)
	run("keys", "create", "--aws", "--env", "staging", "--data-dir", dir)
	run("keys", "list", "--data-dir", dir)
	id := ""
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Key id:"); ok {
			id = strings.TrimSpace(v)
		}
	}
	run("keys", "revoke", id, "--data-dir", dir)
	if n := checkPrivate(t, dir); n == 0 {
		t.Fatal("keys create wrote no file")
	}
}

// TestStartTightensDataDir: a data directory an older version left
// readable by other users (0755, 0644) is made private on start (0700,
// 0600), and the log says so.
func TestStartTightensDataDir(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := filepath.Join(t.TempDir(), "data")
	for _, d := range []string{dir, filepath.Join(dir, "xray")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"markers.json", "xray/test.xray.json"} {
		p := filepath.Join(dir, f)
		if err := os.WriteFile(p, []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.DataDir = dir
	var logs bytes.Buffer
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "xray")} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s after start: %v %v, want 0700", p, fi.Mode().Perm(), err)
		}
	}
	for _, f := range []string{"markers.json", "xray/test.xray.json"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s after start: %v %v, want 0600", f, fi.Mode().Perm(), err)
		}
	}
	if !strings.Contains(logs.String(), "made the data directory readable by its owner only") || !strings.Contains(logs.String(), "changed=4") {
		t.Errorf("the log does not say the data directory was made private:\n%s", logs.String())
	}
}
