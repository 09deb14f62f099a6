// Package statetest is the conformance suite every state.Store passes:
// versions and conflicts, transactions that commit whole or not at all,
// listing by scope, deleting a whole scope, change notification (also of writes made through
// another handle on the same store: another process or node) and leases.
package statetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tracecomb/tracecomb/internal/state"
)

// Opener opens a handle on a store. Called twice within one subtest, it
// returns two handles on the same store (as two processes or two nodes
// would have); it arranges for them to be closed when the test ends.
type Opener func(t *testing.T) (open func() state.Store)

// RunAll runs the suite; newStore returns a function that opens handles
// on one new, empty store.
func RunAll(t *testing.T, newStore Opener) {
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, open func() state.Store)
	}{
		{"Versions", testVersions},
		{"Scopes", testScopes},
		{"Transactions", testTransactions},
		{"WatchOtherHandle", testWatch},
		{"Leases", testLeases},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"DeleteScope", testDeleteScope},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

const kind state.Kind = "test"

func put(t *testing.T, s state.Store, scope, key, value string, ifVersion int64) int64 {
	t.Helper()
	v, err := s.Put(context.Background(), state.Record{Kind: kind, Scope: scope, Key: key, Value: []byte(value)}, ifVersion)
	if err != nil {
		t.Fatalf("Put %s/%s: %v", scope, key, err)
	}
	return v
}

func testVersions(t *testing.T, open func() state.Store) {
	s := open()
	ctx := context.Background()
	if _, err := s.Get(ctx, kind, "env", "a"); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("Get of nothing: %v", err)
	}
	if v := put(t, s, "env", "a", `{"n":1}`, state.MustNotExist); v != 1 {
		t.Fatalf("first version %d, want 1", v)
	}
	if _, err := s.Put(ctx, state.Record{Kind: kind, Scope: "env", Key: "a", Value: []byte(`{}`)}, state.MustNotExist); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("create over an existing record: %v", err)
	}
	if _, err := s.Put(ctx, state.Record{Kind: kind, Scope: "env", Key: "a", Value: []byte(`{}`)}, 7); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("put with a stale version: %v", err)
	}
	if v := put(t, s, "env", "a", `{"n":2}`, 1); v != 2 {
		t.Fatalf("second version %d, want 2", v)
	}
	if v := put(t, s, "env", "a", `{"n":3}`, state.AnyVersion); v != 3 {
		t.Fatalf("third version %d, want 3", v)
	}
	r, err := s.Get(ctx, kind, "env", "a")
	if err != nil || string(r.Value) != `{"n":3}` || r.Version != 3 || r.Updated.IsZero() {
		t.Fatalf("Get = %+v, %v", r, err)
	}
	if err := s.Delete(ctx, kind, "env", "a", 2); !errors.Is(err, state.ErrConflict) {
		t.Fatalf("delete with a stale version: %v", err)
	}
	if err := s.Delete(ctx, kind, "env", "a", 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, kind, "env", "a", state.AnyVersion); !errors.Is(err, state.ErrNotFound) {
		t.Fatalf("delete of nothing: %v", err)
	}
	if v := put(t, s, "env", "a", `{}`, state.MustNotExist); v != 1 {
		t.Fatalf("version after re-creation %d, want 1", v)
	}
}

func testScopes(t *testing.T, open func() state.Store) {
	s := open()
	ctx := context.Background()
	put(t, s, "prod", "b", `2`, state.AnyVersion)
	put(t, s, "prod", "a", `1`, state.AnyVersion)
	put(t, s, "test", "a", `3`, state.AnyVersion)
	put(t, s, "", "team", `4`, state.AnyVersion)
	if _, err := s.Put(ctx, state.Record{Kind: "other", Scope: "prod", Key: "a", Value: []byte(`9`)}, state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	keys := func(rs []state.Record) string {
		out := ""
		for _, r := range rs {
			out += r.Scope + "/" + r.Key + "=" + string(r.Value) + " "
		}
		return out
	}
	got, err := s.List(ctx, kind, "prod")
	if err != nil || keys(got) != "prod/a=1 prod/b=2 " {
		t.Fatalf("List prod: %q, %v", keys(got), err)
	}
	got, err = s.ListAll(ctx, kind)
	if err != nil || keys(got) != "/team=4 prod/a=1 prod/b=2 test/a=3 " {
		t.Fatalf("ListAll: %q, %v", keys(got), err)
	}
	if got, _ := s.List(ctx, kind, "none"); len(got) != 0 {
		t.Fatalf("List of an empty scope: %v", got)
	}
	if ks, err := s.Keys(ctx, kind, "prod"); err != nil || fmt.Sprint(ks) != "[a b]" {
		t.Fatalf("Keys prod: %v, %v", ks, err)
	}
	if ks, err := s.Keys(ctx, kind, "none"); err != nil || len(ks) != 0 {
		t.Fatalf("Keys of an empty scope: %v, %v", ks, err)
	}
	err = s.Update(ctx, func(tx state.Tx) error {
		if _, err := tx.Put(state.Record{Kind: kind, Scope: "prod", Key: "c", Value: []byte(`5`)}, state.MustNotExist); err != nil {
			return err
		}
		if err := tx.Delete(kind, "prod", "a", state.AnyVersion); err != nil {
			return err
		}
		ks, err := tx.Keys(kind, "prod")
		if err != nil || fmt.Sprint(ks) != "[b c]" {
			return fmt.Errorf("keys in a transaction miss its writes: %v, %v", ks, err)
		}
		if n, err := tx.Count(kind, "prod"); err != nil || n != 2 {
			return fmt.Errorf("count in a transaction: %d, %v; want 2", n, err)
		}
		if n, err := tx.Count(kind, "none"); err != nil || n != 0 {
			return fmt.Errorf("count of an empty scope: %d, %v", n, err)
		}
		for _, c := range []struct {
			n    int
			want string
		}{{0, "[]"}, {1, "[b]"}, {2, "[b c]"}, {5, "[b c]"}} {
			if ks, err := tx.FirstKeys(kind, "prod", c.n); err != nil || fmt.Sprint(ks) != c.want {
				return fmt.Errorf("first %d keys: %v, %v; want %s", c.n, ks, err, c.want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testTransactions(t *testing.T, open func() state.Store) {
	s := open()
	ctx := context.Background()
	put(t, s, "env", "a", `1`, state.AnyVersion)
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx state.Tx) error {
		if _, err := tx.Put(state.Record{Kind: kind, Scope: "env", Key: "b", Value: []byte(`2`)}, state.MustNotExist); err != nil {
			return err
		}
		if r, err := tx.Get(kind, "env", "b"); err != nil || string(r.Value) != `2` {
			return fmt.Errorf("the transaction does not see its own write: %v", err)
		}
		if err := tx.Delete(kind, "env", "a", state.AnyVersion); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if _, err := s.Get(ctx, kind, "env", "b"); !errors.Is(err, state.ErrNotFound) {
		t.Fatal("a failed transaction's write is visible")
	}
	if _, err := s.Get(ctx, kind, "env", "a"); err != nil {
		t.Fatal("a failed transaction's delete took effect")
	}
	err = s.Update(ctx, func(tx state.Tx) error {
		rs, err := tx.List(kind, "env")
		if err != nil || len(rs) != 1 {
			return fmt.Errorf("list in tx: %v %v", rs, err)
		}
		_, err = tx.Put(state.Record{Kind: kind, Scope: "env", Key: "c", Value: []byte(`3`)}, state.AnyVersion)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.List(ctx, kind, "env"); len(got) != 2 {
		t.Fatalf("after a committed transaction: %d records", len(got))
	}
}

// testWatch: a change made through one handle reaches a watcher of the
// other within a bounded wait.
func testWatch(t *testing.T, open func() state.Store) {
	a, b := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := b.Watch(ctx)
	put(t, a, "env", "k1", `1`, state.AnyVersion)
	if err := a.Delete(ctx, kind, "env", "k1", state.AnyVersion); err != nil {
		t.Fatal(err)
	}
	seen := 0
	deadline := time.After(10 * time.Second)
	for seen < 2 {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatal("watch closed")
			}
			if c.Kind == "" || (c.Kind == kind && c.Scope == "env" && c.Key == "k1") {
				seen++
			}
		case <-deadline:
			t.Fatalf("saw %d of 2 changes made through another handle", seen)
		}
	}
	cancel()
	for range ch { // the channel closes when ctx ends
	}
}

func testLeases(t *testing.T, open func() state.Store) {
	a, b := open(), open()
	ctx := context.Background()
	if ok, err := a.Acquire(ctx, "trigger/1", "node-a", time.Hour); err != nil || !ok {
		t.Fatalf("first acquire: %v %v", ok, err)
	}
	if ok, err := b.Acquire(ctx, "trigger/1", "node-b", time.Hour); err != nil || ok {
		t.Fatalf("a second holder took a running lease: %v %v", ok, err)
	}
	if ok, _ := a.Acquire(ctx, "trigger/1", "node-a", time.Hour); !ok {
		t.Fatal("the holder cannot renew")
	}
	if ok, _ := b.Acquire(ctx, "trigger/2", "node-b", time.Millisecond); !ok {
		t.Fatal("another lease name is taken")
	}
	time.Sleep(5 * time.Millisecond) // the 1 ms lease has run out
	if ok, _ := a.Acquire(ctx, "trigger/2", "node-a", time.Hour); !ok {
		t.Fatal("an expired lease cannot be taken over")
	}
}

// testConcurrentUpdates: read-modify-write transactions from two handles
// lose no update.
func testConcurrentUpdates(t *testing.T, open func() state.Store) {
	a, b := open(), open()
	ctx := context.Background()
	put(t, a, "env", "counter", `0`, state.AnyVersion)
	var wg sync.WaitGroup
	for _, s := range []state.Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				err := s.Update(ctx, func(tx state.Tx) error {
					r, err := tx.Get(kind, "env", "counter")
					if err != nil {
						return err
					}
					var n int
					fmt.Sscan(string(r.Value), &n)
					_, err = tx.Put(state.Record{Kind: kind, Scope: "env", Key: "counter", Value: []byte(fmt.Sprint(n + 1))}, r.Version)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	r, err := a.Get(ctx, kind, "env", "counter")
	if err != nil || string(r.Value) != "100" {
		t.Fatalf("counter %s (%v), want 100", r.Value, err)
	}
}

// testDeleteScope: DeleteScope removes the records of every kind of one
// scope (but the kinds kept) in its transaction, whole or not at all,
// leaves other scopes and leases alone, and tells watchers.
func testDeleteScope(t *testing.T, open func() state.Store) {
	a, b := open(), open()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const other, kept state.Kind = "other", "kept"
	for _, r := range []state.Record{
		{Kind: kind, Scope: "prod", Key: "a"}, {Kind: kind, Scope: "prod", Key: "b"},
		{Kind: other, Scope: "prod", Key: "a"}, {Kind: kept, Scope: "prod", Key: "k"},
		{Kind: kind, Scope: "prod/xray", Key: "a"}, {Kind: kind, Scope: "test", Key: "a"},
		{Kind: other, Scope: "", Key: "prod"},
	} {
		r.Value = []byte(`1`)
		if _, err := a.Put(ctx, r, state.AnyVersion); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := a.Acquire(ctx, "prod", "node-a", time.Hour); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	// all lists every record as "kind scope/key", ordered.
	all := func() string {
		t.Helper()
		var out []string
		for _, k := range []state.Kind{kept, other, kind} {
			rs, err := a.ListAll(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				out = append(out, fmt.Sprintf("%s %s/%s", k, r.Scope, r.Key))
			}
		}
		return fmt.Sprint(out)
	}
	before := all()

	boom := errors.New("boom")
	err := a.Update(ctx, func(tx state.Tx) error {
		if n, err := tx.DeleteScope("prod"); err != nil || n != 4 {
			return fmt.Errorf("DeleteScope = %d, %v; want 4", n, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if got := all(); got != before {
		t.Fatalf("a failed transaction's DeleteScope took effect:\n%s\nwant\n%s", got, before)
	}

	ch := b.Watch(ctx)
	for _, tc := range []struct {
		name  string
		keep  []state.Kind
		n     int
		after string
	}{
		{"keep", []state.Kind{kept}, 4, "[kept prod/k other /prod test prod/later test prod/xray/a test test/a]"},
		{"again", []state.Kind{kept}, 2, "[kept prod/k other /prod test prod/later test prod/xray/a test test/a]"},
		{"all", nil, 3, "[other /prod test prod/later test prod/xray/a test test/a]"},
		{"writes only", nil, 2, "[other /prod test prod/later test prod/xray/a test test/a]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Update(ctx, func(tx state.Tx) error {
				// A record the transaction writes before goes too; one it
				// writes after stays (and is deleted by the next case).
				if _, err := tx.Put(state.Record{Kind: kind, Scope: "prod", Key: "new", Value: []byte(`2`)}, state.AnyVersion); err != nil {
					return err
				}
				n, err := tx.DeleteScope("prod", tc.keep...)
				if err != nil || n != tc.n {
					return fmt.Errorf("DeleteScope = %d, %v; want %d", n, err, tc.n)
				}
				if rs, err := tx.List(kind, "prod"); err != nil || len(rs) != 0 {
					return fmt.Errorf("the transaction still lists %v, %v", rs, err)
				}
				if _, err := tx.Get(other, "prod", "a"); !errors.Is(err, state.ErrNotFound) {
					return fmt.Errorf("the transaction still gets a deleted record: %v", err)
				}
				_, err = tx.Put(state.Record{Kind: kind, Scope: "prod", Key: "later", Value: []byte(`3`)}, state.MustNotExist)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := all(); got != tc.after {
				t.Fatalf("records after DeleteScope:\n%s\nwant\n%s", got, tc.after)
			}
		})
	}
	if ok, _ := b.Acquire(ctx, "prod", "node-b", time.Hour); ok {
		t.Fatal("DeleteScope ended a lease")
	}

	// Every deletion reaches a watcher of the other handle.
	want := map[string]bool{}
	for _, k := range []string{"test prod/a", "test prod/b", "other prod/a", "test prod/new", "test prod/later", "kept prod/k"} {
		want[k] = true
	}
	deadline := time.After(10 * time.Second)
	for len(want) > 0 {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatal("watch closed")
			}
			if c.Kind == "" { // "reload everything" covers what is left
				return
			}
			delete(want, fmt.Sprintf("%s %s/%s", c.Kind, c.Scope, c.Key))
		case <-deadline:
			t.Fatalf("watchers were not told of %v", want)
		}
	}
}
