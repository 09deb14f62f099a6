package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/tracecomb/tracecomb/internal/state"
)

// BenchmarkPut: one Put (a single statement, its own transaction) against
// the test server, each of a new version of one of 100 records.
func BenchmarkPut(b *testing.B) {
	s := open(b, Config{URL: newDatabase(b)})
	ctx := context.Background()
	value := []byte(`{"name":"ingest key","env":"prod","permissions":["send"]}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Put(ctx, state.Record{Kind: "keys", Scope: "prod", Key: fmt.Sprint(i % 100), Value: value}, state.AnyVersion); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkUpdate: a read-modify-write transaction (Get, then Put of the
// version read), as the sampling statistics are written.
func BenchmarkUpdate(b *testing.B) {
	s := open(b, Config{URL: newDatabase(b)})
	ctx := context.Background()
	if _, err := s.Put(ctx, state.Record{Kind: "stats", Scope: "prod", Key: "rule", Value: []byte(`0`)}, state.AnyVersion); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		err := s.Update(ctx, func(tx state.Tx) error {
			r, err := tx.Get("stats", "prod", "rule")
			if err != nil {
				return err
			}
			var n int
			if err := json.Unmarshal(r.Value, &n); err != nil {
				return err
			}
			_, err = tx.Put(state.Record{Kind: "stats", Scope: "prod", Key: "rule", Value: fmt.Append(nil, n+1)}, r.Version)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPutHeard: a Put through one handle until a watcher of another
// handle (another node) hears of it: the time a change takes to reach
// the other nodes, the Put included.
func BenchmarkPutHeard(b *testing.B) {
	url := newDatabase(b)
	s, other := open(b, Config{URL: url}), open(b, Config{URL: url})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := other.Watch(ctx)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := fmt.Sprint(i % 100)
		if _, err := s.Put(ctx, state.Record{Kind: "keys", Scope: "prod", Key: key, Value: []byte(`{}`)}, state.AnyVersion); err != nil {
			b.Fatal(err)
		}
		for c := range ch {
			if c.Key == key || c.Kind == "" {
				break
			}
		}
		i++
	}
}

// BenchmarkPutParallel: Puts from many goroutines at once (each its own
// records), sharing the pool: the store's write throughput.
func BenchmarkPutParallel(b *testing.B) {
	s := open(b, Config{URL: newDatabase(b), MaxConns: 8})
	ctx := context.Background()
	value := []byte(`{"name":"ingest key","env":"prod","permissions":["send"]}`)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		g := next.Add(1)
		i := 0
		for pb.Next() {
			if _, err := s.Put(ctx, state.Record{Kind: "keys", Scope: "prod", Key: fmt.Sprint(g, "/", i%100), Value: value}, state.AnyVersion); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
