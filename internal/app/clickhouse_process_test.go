package app

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/store/clickhouse/chtest"
)

// startClickHouse starts a clickhouse-server 18.16 for one test, stopped
// when it ends.
func startClickHouse(t *testing.T) *chtest.Server {
	t.Helper()
	s, err := chtest.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// batchGetTrace reads one trace through X-Ray's BatchGetTraces with the
// AWS CLI, unsigned on the daemon door, until it has want segments (the
// daemon door's UDP datagrams are not acknowledged) or 20 s passed.
func batchGetTrace(t *testing.T, daemon, id string, want int) []string {
	t.Helper()
	unsigned := []string{"AWS_ACCESS_KEY_ID=anything", "AWS_SECRET_ACCESS_KEY=anything", "AWS_DEFAULT_REGION=us-west-1"}
	var docs []string
	deadline := time.Now().Add(20 * time.Second)
	for {
		var out struct {
			Traces []struct {
				Id       string
				Segments []struct{ Document string }
			}
		}
		runAWS(t, unsigned, daemon, &out, "batch-get-traces", "--trace-ids", id)
		docs = docs[:0]
		for _, tr := range out.Traces {
			for _, s := range tr.Segments {
				docs = append(docs, s.Document)
			}
		}
		if len(docs) >= want || time.Now().After(deadline) {
			return docs
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestServeOnClickHouse runs the binary with --store clickhouse on a
// clickhouse-server 18.16: OTLP spans and X-Ray segments go in, and come
// back through /api/traces/{id}, a Honeycomb query and BatchGetTraces;
// the spans acknowledged before a kill -9 of tracecomb are all there
// after a restart on the same ClickHouse database.
func TestServeOnClickHouse(t *testing.T) {
	ch := startClickHouse(t)
	dir := t.TempDir()
	const key = "clickhouse-key-0123456789"
	flags := []string{"--store", "clickhouse", "--clickhouse-url", ch.URL, "--clickhouse-database", "serve_test"}
	p := startProc(t, dir, append([]string{"--bootstrap-key", key}, flags...)...)
	base := "http://" + p.addrs["http"]

	// OTLP over both protocols; each export returned after a 200.
	var ids []string
	for i := range 3 {
		protocol, endpoint := "http/protobuf", base
		if i == 1 {
			protocol, endpoint = "grpc", "http://"+p.addrs["otlp_grpc"]
		}
		ids = append(ids, sendWithSDK(t, protocol, endpoint, key, "chshop").TraceID().String())
	}
	// X-Ray segments on the daemon door.
	now := time.Now()
	epoch := float64(now.UnixNano()) / 1e9
	xid := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xc1c1)
	sendSegment(t, p.addrs["xray"], map[string]any{
		"name": "ch-frontend", "id": "70de5b6f19ff9a0a", "trace_id": xid, "start_time": epoch - 0.2, "end_time": epoch,
		"http": map[string]any{"request": map[string]any{"method": "GET", "url": "http://localhost/"}, "response": map[string]any{"status": 200}},
	})
	sendSegment(t, p.addrs["xray"], map[string]any{
		"name": "ch-backend", "id": "70de5b6f19ff9a0b", "parent_id": "70de5b6f19ff9a0a", "trace_id": xid, "start_time": epoch - 0.15, "end_time": epoch - 0.05,
	})

	check := func(base, daemon, when string) {
		t.Helper()
		for _, id := range ids {
			var tr traceResponse
			if code := getJSON(t, base+"/api/traces/"+id, key, &tr); code != 200 || len(tr.Events) != 4 {
				t.Fatalf("%s: /api/traces/%s: %d, %d events; want 200 and 4", when, id, code, len(tr.Events))
			}
		}
		if n := eventsQueryCount(t, base, key, "chshop"); n != float64(4*len(ids)) {
			t.Fatalf("%s: COUNT of chshop: %v, want %d", when, n, 4*len(ids))
		}
		docs := batchGetTrace(t, daemon, xid, 2)
		if len(docs) != 2 || !strings.Contains(strings.Join(docs, "\n"), `"ch-backend"`) {
			t.Fatalf("%s: BatchGetTraces %s: %q", when, xid, docs)
		}
	}
	check(base, "http://"+p.addrs["xray"], "before the kill")

	// More acknowledged spans, then kill -9.
	ids = append(ids, sendWithSDK(t, "http/protobuf", base, key, "chshop").TraceID().String())
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p2 := startProc(t, dir, flags...)
	check("http://"+p2.addrs["http"], "http://"+p2.addrs["xray"], "after kill -9 and restart")

	// Nothing of the store went to the data directory.
	if _, err := os.Stat(filepath.Join(dir, StoreFileName)); !os.IsNotExist(err) {
		t.Errorf("%s exists with --store clickhouse: %v", StoreFileName, err)
	}
}

// TestStoreFlags: --store and the ClickHouse flags, from flags and from
// the environment, and what Validate refuses.
func TestStoreFlags(t *testing.T) {
	t.Setenv("TRACECOMB_CLICKHOUSE_URL", "http://u:secret@ch:8123")
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.BindFlags(fs)
	if err := fs.Parse([]string{"--store", "clickhouse", "--clickhouse-database", "db1", "--clickhouse-cluster", "c1"}); err != nil {
		t.Fatal(err)
	}
	want := StoreConfig{Kind: StoreClickHouse, ClickHouseURL: "http://u:secret@ch:8123", ClickHouseDatabase: "db1", ClickHouseCluster: "c1"}
	if cfg.Store != want {
		t.Fatalf("store config %+v, want %+v", cfg.Store, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	// -h does not show the URL from the environment (it holds a password).
	if f := fs.Lookup("clickhouse-url"); f.DefValue != "" {
		t.Errorf("--clickhouse-url's default shown as %q", f.DefValue)
	}
	for _, c := range []struct {
		store StoreConfig
		want  string
	}{
		{StoreConfig{Kind: "cassandra"}, `--store "cassandra": want duckdb or clickhouse`},
		{StoreConfig{Kind: StoreClickHouse}, "--store clickhouse needs --clickhouse-url"},
		{StoreConfig{Kind: StoreClickHouse, ClickHouseURL: "tcp://ch:9000"}, "--clickhouse-url: want the HTTP interface's URL"},
		{StoreConfig{Kind: StoreDuckDB, ClickHouseURL: "http://ch:8123"}, "--clickhouse-url is set but the store is duckdb"},
	} {
		cfg := DefaultConfig()
		cfg.Store = c.store
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.store, err, c.want)
		}
	}
	if got := redactURL("http://u:secret@ch:8123"); strings.Contains(got, "secret") {
		t.Errorf("redactURL shows the password: %s", got)
	}
}
