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

	"github.com/tracecomb/tracecomb/internal/state/postgres/pgtest"
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
	t.Parallel() // its own servers and processes; mostly waits on them
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
		ids = append(ids, sendWithSDKOptions(t, protocol, endpoint, key, "chshop").TraceID().String())
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
	ids = append(ids, sendWithSDKOptions(t, "http/protobuf", base, key, "chshop").TraceID().String())
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
	t.Setenv("TRACECOMB_CLICKHOUSE_REPLICATED", "true")
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.BindFlags(fs)
	if err := fs.Parse([]string{"--store", "clickhouse", "--clickhouse-database", "db1", "--clickhouse-cluster", "c1", "--clickhouse-shard-urls", "http://a:8123, http://b:8123"}); err != nil {
		t.Fatal(err)
	}
	want := StoreConfig{Kind: StoreClickHouse, ClickHouseURL: "http://u:secret@ch:8123", ClickHouseDatabase: "db1", ClickHouseCluster: "c1", ClickHouseShardURLs: "http://a:8123, http://b:8123", ClickHouseReplicated: true}
	if cfg.Store != want {
		t.Fatalf("store config %+v, want %+v", cfg.Store, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if got := cfg.Store.shardURLs(); len(got) != 2 || got[1] != "http://b:8123" {
		t.Errorf("shard URLs %q", got)
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
		{StoreConfig{Kind: StoreClickHouse, ClickHouseURL: "http://ch:8123", ClickHouseCluster: "c"}, "--clickhouse-cluster needs --clickhouse-shard-urls"},
		{StoreConfig{Kind: StoreClickHouse, ClickHouseURL: "http://ch:8123", ClickHouseShardURLs: "http://a:1"}, "--clickhouse-shard-urls is set without --clickhouse-cluster"},
		{StoreConfig{Kind: StoreClickHouse, ClickHouseURL: "http://ch:8123", ClickHouseCluster: "c", ClickHouseShardURLs: "a:1"}, "--clickhouse-shard-urls: want HTTP"},
		{StoreConfig{Kind: StoreClickHouse, ClickHouseURL: "http://ch:8123", ClickHouseReplicated: true}, "--clickhouse-replicated is set without --clickhouse-cluster"},
		{StoreConfig{Kind: StoreDuckDB, ClickHouseReplicated: true}, "--clickhouse-replicated is set but the store is duckdb"},
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

// otlpJSONSpans is an OTLP/JSON traces request of service with one span
// per span id, all of trace id (32 hex digits).
func otlpJSONSpans(service, id string, spanIDs ...string) string {
	now := time.Now().UnixNano()
	var spans []string
	for i, s := range spanIDs {
		start := now - int64(len(spanIDs)-i)*int64(time.Millisecond)
		spans = append(spans, fmt.Sprintf(`{"traceId":%q,"spanId":%q,"name":"op%d","kind":2,"startTimeUnixNano":"%d","endTimeUnixNano":"%d"}`,
			id, s, i, start, start+int64(time.Millisecond)/2))
	}
	return `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"` + service +
		`"}}]},"scopeSpans":[{"spans":[` + strings.Join(spans, ",") + `]}]}]}`
}

// TestServeOnClickHouseCluster: two tracecomb nodes on one ClickHouse
// cluster of two clickhouse-server 18.16 shards (each node entering
// through its own shard) and one PostgreSQL state. Half of a trace's
// spans and segments go to each node; either node reads the whole trace
// through /api/traces/{id}, a Honeycomb query and BatchGetTraces. With a
// shard stopped, ingest answers 503 (retryable) and a trace read answers
// 503 naming the missing shard rather than the half on the other shard.
func TestServeOnClickHouseCluster(t *testing.T) {
	t.Parallel() // its own servers and processes; mostly waits on them
	dir := t.TempDir()
	shards, err := chtest.StartCluster("tc", []string{filepath.Join(dir, "s1"), filepath.Join(dir, "s2")})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		t.Cleanup(s.Stop)
	}
	pg, err := pgtest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Stop)
	stateURL := pg.NewDatabase(t)
	const key = "cluster-key-0123456789"
	node := func(entry string, extra ...string) *proc {
		return startProc(t, t.TempDir(), append([]string{"--state-url", stateURL, "--store", "clickhouse", "--clickhouse-url", entry,
			"--clickhouse-database", "scale", "--clickhouse-cluster", "tc", "--clickhouse-shard-urls", shards[0].URL + "," + shards[1].URL}, extra...)...)
	}
	a := node(shards[0].URL, "--bootstrap-key", key)
	b := node(shards[1].URL)
	nodes := []*proc{a, b}

	// Two traces, half of each sent to each node: the shard of one of
	// them is the node's own for one half and the other shard for the
	// other half, whichever shard it hashes to.
	ids := []string{"5b8efff798038103d269b633813fc60c", "5b8efff798038103d269b633813fc60d"}
	for _, id := range ids {
		for i, n := range nodes {
			body := otlpJSONSpans("twonodes", id, fmt.Sprintf("eee19b7ec3c1b17%d", 2*i), fmt.Sprintf("eee19b7ec3c1b17%d", 2*i+1))
			if code, _, _ := call(t, "POST", "http://"+n.addrs["http"]+"/v1/traces", key, body, false); code != 200 {
				t.Fatalf("OTLP to node %d: %d", i, code)
			}
		}
	}
	now := time.Now()
	epoch := float64(now.UnixNano()) / 1e9
	xid := fmt.Sprintf("1-%08x-%024x", now.Unix(), 0xc2c2)
	sendSegment(t, a.addrs["xray"], map[string]any{"name": "front", "id": "70de5b6f19ff9a1a", "trace_id": xid, "start_time": epoch - 0.2, "end_time": epoch})
	sendSegment(t, b.addrs["xray"], map[string]any{"name": "back", "id": "70de5b6f19ff9a1b", "parent_id": "70de5b6f19ff9a1a", "trace_id": xid,
		"start_time": epoch - 0.15, "end_time": epoch - 0.05})

	for i, n := range nodes {
		base := "http://" + n.addrs["http"]
		// A node sees the datasets another node created within the
		// catalog refresh (2 s); 20 s bounds a loaded machine.
		for _, id := range ids {
			deadline := time.Now().Add(20 * time.Second)
			for {
				var tr traceResponse
				code := getJSON(t, base+"/api/traces/"+id, key, &tr)
				if code == 200 && len(tr.Events) == 4 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node %d: /api/traces/%s: %d, %d events; want 4", i, id, code, len(tr.Events))
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		if c := eventsQueryCount(t, base, key, "twonodes"); c != 8 {
			t.Fatalf("node %d: COUNT of twonodes %v, want 8", i, c)
		}
		docs := batchGetTrace(t, "http://"+n.addrs["xray"], xid, 2)
		if len(docs) != 2 {
			t.Fatalf("node %d: BatchGetTraces: %q", i, docs)
		}
	}

	// Shard 2 stops: ingest is refused retryably, reads fail whole.
	shards[1].Stop()
	body := otlpJSONSpans("twonodes", ids[0], "eee19b7ec3c1b180")
	if code, _, _ := call(t, "POST", "http://"+a.addrs["http"]+"/v1/traces", key, body, false); code != 503 {
		t.Fatalf("OTLP with a shard down: %d, want 503", code)
	}
	down := fmt.Sprint(shards[1].TCPPort)
	for _, id := range ids {
		code, got, _ := call(t, "GET", "http://"+a.addrs["http"]+"/api/traces/"+id, key, "", false)
		if code != 503 || !strings.Contains(got, down) {
			t.Fatalf("/api/traces/%s with a shard down: %d %s, want 503 naming the shard (port %s)", id, code, got, down)
		}
	}
	// A Honeycomb query: 503 naming the shard, not a count of half.
	base := "http://" + a.addrs["http"]
	if code, got, q := call(t, "POST", base+"/1/queries/twonodes", key, `{"calculations":[{"op":"COUNT"}],"time_range":7200}`, false); code != 200 {
		t.Errorf("creating a query with a shard down: %d %s", code, got)
	} else if code, got, _ := call(t, "POST", base+"/1/query_results/twonodes", key, fmt.Sprintf(`{"query_id":%q}`, q["id"]), false); code != 503 || !strings.Contains(got, down) {
		t.Errorf("running a query with a shard down: %d %s, want 503 naming the shard (port %s)", code, got, down)
	}
	if code, _, _ := call(t, "GET", "http://"+a.addrs["http"]+"/healthz", "", "", false); code != 503 {
		t.Errorf("/healthz with a shard down: %d, want 503", code)
	}
}
