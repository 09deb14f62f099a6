package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/model"
	"github.com/tracecomb/tracecomb/internal/store"
	"github.com/tracecomb/tracecomb/internal/store/clickhouse/chtest"
	"github.com/tracecomb/tracecomb/internal/store/storetest"
)

const testCluster = "tc"

var (
	clusterOnce sync.Once
	clusterSrv  []*chtest.Server
	clusterErr  error
	clusterDir  string
)

// sharedCluster returns two servers, the two shards of cluster tc,
// started on first use and stopped by TestMain.
func sharedCluster(t testing.TB) []*chtest.Server {
	t.Helper()
	clusterOnce.Do(func() {
		clusterDir, clusterErr = os.MkdirTemp("", "tracecomb-clickhouse-cluster-")
		if clusterErr == nil {
			clusterSrv, clusterErr = chtest.StartCluster(testCluster, []string{filepath.Join(clusterDir, "s1"), filepath.Join(clusterDir, "s2")})
		}
	})
	if clusterErr != nil {
		t.Fatalf("clickhouse test cluster: %v", clusterErr)
	}
	return clusterSrv
}

// openCluster opens a store on a fresh database spread over srv's shards,
// entered through the first; closed and dropped when the test ends.
func openCluster(t testing.TB, srv []*chtest.Server, cfg Config) *Store {
	t.Helper()
	cfg.URL, cfg.Cluster, cfg.ShardURLs = srv[0].URL, testCluster, nil
	for _, s := range srv {
		cfg.ShardURLs = append(cfg.ShardURLs, s.URL)
	}
	if cfg.Database == "" {
		cfg.Database = newDatabase()
	}
	s, err := Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open on the cluster: %v", err)
	}
	t.Cleanup(func() {
		_ = s.Close()
		for _, sv := range srv {
			if c, err := newClient(sv.URL, ""); err == nil {
				_ = c.exec(context.Background(), "DROP DATABASE IF EXISTS "+quoteIdent(cfg.Database))
				c.close()
			}
		}
	})
	return s
}

// TestClusterConformance: the store spread over two shards passes the
// same conformance suites as on one server.
func TestClusterConformance(t *testing.T) {
	t.Parallel() // the suites share no database; each waits mostly on its server
	srv := sharedCluster(t)
	storetest.RunAll(t, func(t *testing.T) store.Store { return openCluster(t, srv, Config{}) })
}

// TestClusterShardsByTrace: a trace's spans, written in several Writes,
// all land on one shard; traces spread over both shards; each reads back
// whole by id and is counted once by an aggregate.
func TestClusterShardsByTrace(t *testing.T) {
	ctx := context.Background()
	srv := sharedCluster(t)
	s := openCluster(t, srv, Config{})
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	const traces, spans = 40, 4
	for part := range 2 { // each trace in two Writes, as from two senders
		var evs []model.Event
		for tr := range traces {
			for sp := part * spans / 2; sp < (part+1)*spans/2; sp++ {
				evs = append(evs, model.Event{Dataset: "svc", Time: base.Add(time.Duration(tr*spans+sp) * time.Millisecond),
					TraceID: model.TraceID{0: 7, 15: byte(tr + 1)}, SpanID: model.SpanID{6: byte(tr + 1), 7: byte(sp + 1)},
					Name: "op", ServiceName: "svc", SampleRate: 1, Attrs: []model.Attr{{Key: "n", Value: model.Int(int64(sp))}}})
			}
		}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	onShard := map[string]int{}
	for i, sv := range srv {
		c, err := newClient(sv.URL, s.cfg.Database)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := c.rows(ctx, "SELECT hex(trace_id), count() FROM events_local GROUP BY trace_id")
		c.close()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 {
			t.Errorf("shard %d holds no trace of %d", i+1, traces)
		}
		for _, r := range rows {
			id := r[0].(string)
			if prev, ok := onShard[id]; ok {
				t.Errorf("trace %s on shards %d and %d", id, prev, i+1)
			}
			onShard[id] = i + 1
			if n := r[1].(int64); n != spans {
				t.Errorf("trace %s: %d spans on shard %d, want all %d", id, n, i+1, spans)
			}
		}
	}
	if len(onShard) != traces {
		t.Errorf("%d traces on the shards, want %d", len(onShard), traces)
	}
	for tr := range traces {
		got, err := s.Trace(ctx, "prod", model.TraceID{0: 7, 15: byte(tr + 1)})
		if err != nil || len(got) != spans {
			t.Fatalf("trace %d: %d events, %v; want %d", tr, len(got), err, spans)
		}
	}
	res, err := s.Aggregate(ctx, "prod", store.AggregateQuery{Datasets: []string{"svc"}, Start: base.Add(-time.Hour), End: base.Add(time.Hour),
		Calcs: []store.Calc{{Op: store.CalcCount}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0].Values[0].Num != traces*spans {
		t.Fatalf("COUNT over the shards: %+v, want %d", res.Rows, traces*spans)
	}
}

// TestClusterShardDown: with a shard stopped, a Write fails retryably
// (ErrUnavailable) naming the shard, and stores nothing readable; a read
// fails the same way rather than answer from the other shard alone;
// once the shard is back, both work and the failed Write is not there.
func TestClusterShardDown(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := chtest.StartCluster(testCluster, []string{filepath.Join(dir, "s1"), filepath.Join(dir, "s2")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, sv := range srv {
			sv.Stop()
		}
	}()
	s := openCluster(t, srv, Config{Database: "down"})
	ev := func(tr, sp int) model.Event {
		return model.Event{Dataset: "svc", Time: time.Now().Add(-time.Minute), TraceID: model.TraceID{0: 9, 15: byte(tr)},
			SpanID: model.SpanID{6: byte(tr), 7: byte(sp)}, Name: "op", ServiceName: "svc", SampleRate: 1}
	}
	var before []model.Event
	for tr := 1; tr <= 20; tr++ {
		before = append(before, ev(tr, 1))
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: before}}); err != nil {
		t.Fatal(err)
	}
	srv[1].Stop()
	down := fmt.Sprintf("127.0.0.1:%d", srv[1].TCPPort)

	var during []model.Event
	for tr := 1; tr <= 20; tr++ {
		during = append(during, ev(tr, 2))
	}
	err = s.Write(ctx, []store.Batch{{Env: "prod", Events: during}})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), down) {
		t.Fatalf("write with shard 2 down: %v; want ErrUnavailable naming %s", err, down)
	}
	if _, err := s.Trace(ctx, "prod", before[0].TraceID); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), down) {
		t.Fatalf("trace with shard 2 down: %v; want ErrUnavailable naming %s", err, down)
	}
	if _, err := s.Aggregate(ctx, "prod", store.AggregateQuery{Datasets: []string{"svc"}, Start: time.Now().Add(-time.Hour), End: time.Now(),
		Calcs: []store.Calc{{Op: store.CalcCount}}}); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), down) {
		t.Fatalf("aggregate with shard 2 down: %v; want ErrUnavailable naming %s", err, down)
	}
	if err := s.Healthy(ctx); err == nil || !strings.Contains(err.Error(), down) {
		t.Errorf("Healthy with shard 2 down: %v", err)
	}

	if err := srv[1].Restart(); err != nil {
		t.Fatal(err)
	}
	if err := s.Healthy(ctx); err != nil {
		t.Fatalf("Healthy after the restart: %v", err)
	}
	for _, e := range before {
		got, err := s.Trace(ctx, "prod", e.TraceID)
		if err != nil || len(got) != 1 || got[0].SpanID != e.SpanID {
			t.Fatalf("trace %x after the restart: %+v, %v; want its one acknowledged span", e.TraceID, got, err)
		}
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: during}}); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
	got, err := s.Trace(ctx, "prod", during[0].TraceID)
	if err != nil || len(got) != 2 {
		t.Fatalf("trace after the retried write: %d events, %v; want 2 (the failed write's rows hidden)", len(got), err)
	}
}

// TestClusterNeedsEveryShard: Open refuses shard URLs that leave a shard
// of the cluster out, naming it.
func TestClusterNeedsEveryShard(t *testing.T) {
	srv := sharedCluster(t)
	_, err := Open(context.Background(), Config{URL: srv[0].URL, Cluster: testCluster, ShardURLs: []string{srv[0].URL}, Database: newDatabase()})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("shard 2 (127.0.0.1:%d)", srv[1].TCPPort)) {
		t.Fatalf("Open without shard 2's URL: %v", err)
	}
	_, err = Open(context.Background(), Config{URL: srv[0].URL, Cluster: "nope", ShardURLs: []string{srv[0].URL}, Database: newDatabase()})
	if err == nil || !strings.Contains(err.Error(), `no cluster "nope"`) {
		t.Fatalf("Open on an unknown cluster: %v", err)
	}
}

// TestClusterTwoWriters: two stores (two tracecomb processes) on one
// database, each entering the cluster through a different shard, each
// writing half of every trace: after a Refresh each reads every trace
// whole, sees the same datasets (same ids: neither told the other) and
// the fields the other wrote, and a dataset one deletes is gone for both.
func TestClusterTwoWriters(t *testing.T) {
	ctx := context.Background()
	srv := sharedCluster(t)
	db := newDatabase()
	a := openCluster(t, srv, Config{Database: db})
	cfgB := Config{URL: srv[1].URL, Cluster: testCluster, ShardURLs: []string{srv[0].URL, srv[1].URL}, Database: db}
	b, err := Open(ctx, cfgB)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	const traces = 10
	for i, s := range []*Store{a, b} {
		var evs []model.Event
		for tr := range traces {
			evs = append(evs, model.Event{Dataset: "svc", Time: base.Add(time.Duration(tr*2+i) * time.Millisecond),
				TraceID: model.TraceID{0: 3, 15: byte(tr + 1)}, SpanID: model.SpanID{6: byte(i + 1), 7: byte(tr + 1)},
				Name: "op", ServiceName: "svc", SampleRate: 1,
				Attrs: []model.Attr{{Key: fmt.Sprintf("from_%d", i), Value: model.Int(int64(tr))}}})
		}
		// Node b also writes a dataset of its own.
		if i == 1 {
			evs = append(evs, model.Event{Dataset: "only-b", Time: base, Name: "x", SampleRate: 1})
		}
		if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*Store{a, b} {
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(s *Store) map[string]uint32 {
		s.cmu.RLock()
		defer s.cmu.RUnlock()
		out := map[string]uint32{}
		for _, d := range s.cat.env("prod").byID {
			out[d.name] = d.id
		}
		return out
	}
	if ia, ib := ids(a), ids(b); fmt.Sprint(ia) != fmt.Sprint(ib) || len(ia) != 2 {
		t.Fatalf("datasets: a %v, b %v; want the same two with the same ids", ia, ib)
	}
	for n, s := range map[string]*Store{"a": a, "b": b} {
		for tr := range traces {
			got, err := s.Trace(ctx, "prod", model.TraceID{0: 3, 15: byte(tr + 1)})
			if err != nil || len(got) != 2 || got[0].Dataset != "svc" || got[1].Dataset != "svc" {
				t.Fatalf("node %s, trace %d: %+v, %v; want both halves", n, tr, got, err)
			}
		}
		// A filter on the field the other node wrote.
		res, err := s.Aggregate(ctx, "prod", store.AggregateQuery{Datasets: []string{"svc"}, Start: base.Add(-time.Hour), End: base.Add(time.Hour),
			Calcs: []store.Calc{{Op: store.CalcCount}}, Filters: []store.Filter{{Column: "from_1", Op: store.OpGe, Value: model.Int(5)}}})
		if err != nil || len(res.Rows) != 1 || res.Rows[0].Values[0].Num != traces-5 {
			t.Fatalf("node %s: COUNT where from_1 >= 5: %+v, %v; want %d", n, res.Rows, err, traces-5)
		}
	}
	// Environments whose catalog rows are on either shard (by their
	// hash): each created by a, seen by b after a Refresh.
	for i := range 8 {
		env := fmt.Sprintf("env-%d", i)
		if err := a.Write(ctx, []store.Batch{{Env: env, Events: []model.Event{{Dataset: "d", Time: base, Name: "x", SampleRate: 1}}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		if ds, err := b.Datasets(ctx, fmt.Sprintf("env-%d", i)); err != nil || len(ds) != 1 {
			t.Fatalf("node b, env-%d: %+v, %v", i, ds, err)
		}
	}
	if err := a.DeleteDataset(ctx, "prod", "only-b"); err != nil {
		t.Fatal(err)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if ds, _ := b.Datasets(ctx, "prod"); len(ds) != 1 || ds[0].Name != "svc" {
		t.Fatalf("node b after node a deleted only-b: %+v", ds)
	}
}

// BenchmarkClusterWrite is BenchmarkWrite's 10,000-span batches on two
// shards: each INSERT goes through the Distributed table to both shards
// (insert_distributed_sync) before it is acknowledged.
func BenchmarkClusterWrite(b *testing.B) {
	s := openCluster(b, sharedCluster(b), Config{})
	g := newGen(1)
	batches := make([][]model.Event, 4)
	for i := range batches {
		batches[i], _ = g.batch(10000)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Write(ctx, []store.Batch{{Env: "bench", Events: batches[i%len(batches)]}}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*10000)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkClusterTraceByID reads traces of 10 spans by id from 20,000
// spans on two shards (18.16 asks both shards every time).
func BenchmarkClusterTraceByID(b *testing.B) {
	s := openCluster(b, sharedCluster(b), Config{})
	g := newGen(2)
	var ids []model.TraceID
	ctx := context.Background()
	for range 2 {
		evs, tids := g.batch(10000)
		if err := s.Write(ctx, []store.Batch{{Env: "bench", Events: evs}}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, tids...)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.Trace(ctx, "bench", ids[i%len(ids)])
		if err != nil || len(got) != 10 {
			b.Fatalf("%d events, %v", len(got), err)
		}
	}
}

// BenchmarkRefresh reads the catalog of 10 datasets and 97 fields again
// from two shards: the time a Write may wait for a refresh.
func BenchmarkRefresh(b *testing.B) {
	s := openCluster(b, sharedCluster(b), Config{})
	evs, _ := newGen(3).batch(2000)
	ctx := context.Background()
	if err := s.Write(ctx, []store.Batch{{Env: "bench", Events: evs}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Refresh(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestClusterRetention: retention by age drops the old days' partitions
// on every shard (read through cluster(…, system.parts)) and deletes the
// straddling day's old rows there; the recent traces stay whole.
func TestClusterRetention(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	srv := sharedCluster(t)
	s := openCluster(t, srv, Config{Now: func() time.Time { return now }, RetentionInterval: time.Hour})
	ages := []time.Duration{5 * 24 * time.Hour, 3 * 24 * time.Hour, 13 * time.Hour, 11 * time.Hour, time.Hour}
	var evs []model.Event
	for a, age := range ages {
		for tr := range 20 {
			evs = append(evs, model.Event{Dataset: "svc", Time: now.Add(-age), TraceID: model.TraceID{13: 5, 14: byte(a), 15: byte(tr + 1)},
				SpanID: model.SpanID{7: 1}, Name: "op", ServiceName: "svc", SampleRate: 1})
		}
	}
	if err := s.Write(ctx, []store.Batch{{Env: "prod", Events: evs}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetRetention(ctx, "prod", &store.Retention{MaxAge: 10 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if err := s.EnforceRetention(ctx); err != nil {
		t.Fatal(err)
	}
	for i, sv := range srv {
		c, err := newClient(sv.URL, s.cfg.Database)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := c.rows(ctx, "SELECT count(DISTINCT partition) FROM system.parts WHERE database = ? AND table = 'events_local' AND active", s.cfg.Database)
		c.close()
		if err != nil {
			t.Fatal(err)
		}
		if n := rows[0][0].(int64); n > 1 {
			t.Errorf("shard %d keeps %d day partitions, want the newest only", i+1, n)
		}
	}
	for a, age := range ages {
		want := 0
		if age < 10*time.Hour {
			want = 1
		}
		for tr := range 20 {
			id := model.TraceID{13: 5, 14: byte(a), 15: byte(tr + 1)}
			deadline := time.Now().Add(30 * time.Second)
			for {
				got, err := s.Trace(ctx, "prod", id)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) == want {
					break
				}
				if time.Now().After(deadline) { // the straddling day's mutation
					t.Fatalf("trace %v old: %d events, want %d", age, len(got), want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
}

// FuzzShardError: any exception text of any code maps without panicking;
// the network codes become ErrUnavailable naming an address found in the
// text, the others stay as they are.
func FuzzShardError(f *testing.F) {
	f.Add(279, "DB::NetException: All connection tries failed. Log: \n\nCode: 210, e.displayText() = DB::NetException: Connection refused (127.0.0.1:9000)")
	f.Add(210, "DB::NetException: Connection refused (127.0.0.1:46101): Insertion status:\nWrote 1 blocks")
	f.Add(62, "Syntax error (x:1)")
	f.Add(209, "Timeout exceeded while reading from socket ([::1]:9000, 300000 ms)")
	f.Fuzz(func(t *testing.T, code int, msg string) {
		e := &Error{Code: code, Message: msg}
		err := asShardError("tc", e)
		network := code == codeAllConnectionTriesFailed || code == codeNetworkError || code == codeSocketTimeout
		var se *shardError
		if errors.As(err, &se) != network || (network && !errors.Is(err, ErrUnavailable)) {
			t.Fatalf("code %d: %v", code, err)
		}
		if network {
			if se.addr != "" && !strings.Contains(msg, "("+se.addr+")") {
				t.Fatalf("address %q not in %q", se.addr, msg)
			}
			if !strings.Contains(err.Error(), msg) {
				t.Fatalf("the message is lost: %v", err)
			}
		} else if err != error(e) {
			t.Fatalf("code %d changed: %v", code, err)
		}
	})
}
