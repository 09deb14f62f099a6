package clickhouse

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/clickhouse/chtest"
)

// TestReplicated: on a cluster whose one shard has two replicas (18.16
// with ZooKeeper), the tables are Replicated*MergeTree on both, a Write
// through the first replica reaches the second by replication, a delete
// runs once and reaches both, and with the first replica killed a store
// entering through the second reads what was written and writes on.
func TestReplicated(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	zk, err := chtest.StartZooKeeper(filepath.Join(dir, "zk"))
	if err != nil {
		t.Fatalf("zookeeper: %v", err)
	}
	defer zk.Stop()
	srv, err := chtest.StartReplicas("tcr", zk, []string{filepath.Join(dir, "r1"), filepath.Join(dir, "r2")})
	if err != nil {
		t.Fatalf("replicas: %v", err)
	}
	defer func() {
		for _, s := range srv {
			s.Stop()
		}
	}()
	cfg := Config{URL: srv[0].URL, Cluster: "tcr", Replicated: true, ShardURLs: []string{srv[0].URL, srv[1].URL}, Database: newDatabase()}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	replica := func(i int) *client {
		c, err := newClient(srv[i].URL, cfg.Database)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		return c
	}
	r1, r2 := replica(0), replica(1)
	for i, c := range []*client{r1, r2} {
		rows, err := c.rows(ctx, "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name IN ('events_local', 'traces_local', 'datasets_local', 'events') ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		want := [][]any{{"datasets_local", "ReplicatedReplacingMergeTree"}, {"events", "Distributed"}, {"events_local", "ReplicatedMergeTree"}, {"traces_local", "ReplicatedAggregatingMergeTree"}}
		if len(rows) != len(want) {
			t.Fatalf("replica %d: tables %v", i+1, rows)
		}
		for j := range want {
			if rows[j][0] != want[j][0] || rows[j][1] != want[j][1] {
				t.Errorf("replica %d: %v, want %v", i+1, rows[j], want[j])
			}
		}
	}
	now := time.Now()
	var evs []model.Event
	for i := range 20 {
		evs = append(evs, model.Event{Dataset: "svc", Time: now.Add(time.Duration(i) * time.Millisecond), TraceID: model.TraceID{15: byte(i % 4)},
			SpanID: model.SpanID{7: byte(i)}, Name: "op", ServiceName: "svc", SampleRate: 1})
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}, {Env: "dev", Events: evs[:5]}}); err != nil {
		t.Fatal(err)
	}
	count := func(c *client, q string) int64 {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			rows, err := c.rows(ctx, q)
			if err == nil {
				return rows[0][0].(int64)
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %v", q, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitCount := func(c *client, q string, want int64) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			n := count(c, q)
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s = %d, want %d", q, n, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// Written once (on the first replica), replicated to the second.
	waitCount(r1, "SELECT count() FROM events_local", 25)
	waitCount(r2, "SELECT count() FROM events_local", 25)
	waitCount(r2, "SELECT count() FROM datasets_local FINAL", 2)
	// A delete is one mutation, replicated: dev's rows go on both.
	if err := s.DeleteDataset(ctx, "dev", "svc"); err != nil {
		t.Fatal(err)
	}
	waitCount(r1, "SELECT count() FROM events_local WHERE env = 'dev'", 0)
	waitCount(r2, "SELECT count() FROM events_local WHERE env = 'dev'", 0)
	for i, c := range []*client{r1, r2} {
		if n := count(c, "SELECT count() FROM system.mutations WHERE database = currentDatabase() AND table = 'events_local'"); n != 1 {
			t.Errorf("replica %d: %d mutations of events_local, want 1", i+1, n)
		}
	}
	_ = s.Close()

	// The first replica dies: a store entering through the second reads
	// and writes.
	srv[0].Kill()
	cfg2 := cfg
	cfg2.URL, cfg2.ShardURLs = srv[1].URL, []string{srv[1].URL}
	s2, err := Open(ctx, cfg2)
	if err != nil {
		t.Fatalf("Open on the second replica: %v", err)
	}
	defer s2.Close()
	got, err := s2.Trace(ctx, "prod", model.TraceID{15: 1})
	if err != nil || len(got) != 5 {
		t.Fatalf("trace 1 through the second replica: %d events, %v; want 5", len(got), err)
	}
	if err := s2.Write(ctx, []store.Batch{{Env: "prod", Events: []model.Event{{Dataset: "svc", Time: now, TraceID: model.TraceID{15: 9}, SpanID: model.SpanID{7: 1}, Name: "op", ServiceName: "svc", SampleRate: 1}}}}); err != nil {
		t.Fatalf("Write through the second replica: %v", err)
	}
	if got, err := s2.Trace(ctx, "prod", model.TraceID{15: 9}); err != nil || len(got) != 1 {
		t.Fatalf("trace 9: %d events, %v; want 1", len(got), err)
	}
}
